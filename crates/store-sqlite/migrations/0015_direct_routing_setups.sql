-- The steps of Teamline's Direct Routing set-up of each SBC region in an enterprise's tenant
-- (the job's progress, shown on the Dashboard and the reseller's enterprise page).

CREATE TABLE direct_routing_setups (
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    region_id BIGINT NOT NULL REFERENCES sbc_regions (id),
    steps TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (enterprise_id, region_id)
);
