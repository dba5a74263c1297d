-- A SIP domain belongs to one PBX location of the platform: an enterprise cannot point its
-- location at a domain another enterprise uses.
CREATE UNIQUE INDEX pbx_locations_sip_domain_uq ON pbx_locations (sip_domain);
