-- The SIP messages of each call through the gateway (captured by Kamailio's siptrace and sent
-- to Teamline as HEP), secrets redacted, for the call's ladder diagram. Read through the call's
-- record (so per enterprise); deleted after the SIP trace retention period.

CREATE TABLE sip_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id TEXT NOT NULL,
    captured_us BIGINT NOT NULL,
    -- The gateway's peer for this message: microsoft or pbx.
    peer TEXT NOT NULL,
    -- 1 when the gateway sent it, 0 when it received it.
    from_gateway BIGINT NOT NULL,
    src TEXT NOT NULL,
    dst TEXT NOT NULL,
    transport TEXT NOT NULL,
    label TEXT NOT NULL,
    cseq TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX sip_messages_call ON sip_messages (call_id, captured_us);
CREATE INDEX sip_messages_captured ON sip_messages (captured_us);
