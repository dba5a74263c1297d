-- Jobs in claiming order within a state (most urgent first, then oldest), with the due time
-- and the lane. SQLite's claim walks it and stops at the first due job whose lane is free;
-- here the claim's lane check finds the running jobs through it. Both databases keep the same
-- indexes.
CREATE INDEX jobs_claim ON jobs (state, priority DESC, id, run_after_ms, lane);
