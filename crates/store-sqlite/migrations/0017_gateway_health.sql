-- The SIP gateway's Microsoft side per SBC region, as the instance driving the gateway last
-- read it: each of Microsoft's SIP proxies (state and since when) and the region's certificate.

CREATE TABLE gateway_regions (
    region TEXT PRIMARY KEY,
    base_fqdn TEXT NOT NULL,
    certificate_expires_ms BIGINT,
    certificate_problem TEXT,
    observed_ms BIGINT NOT NULL
);

CREATE TABLE gateway_proxies (
    region TEXT NOT NULL REFERENCES gateway_regions (region) ON DELETE CASCADE,
    fqdn TEXT NOT NULL,
    uri TEXT NOT NULL,
    -- up, down, trying, disabled.
    state TEXT NOT NULL,
    since_ms BIGINT NOT NULL,
    PRIMARY KEY (region, fqdn)
);
