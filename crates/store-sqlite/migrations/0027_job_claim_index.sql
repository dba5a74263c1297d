-- Claiming a job walks the due jobs of a state in claiming order (most urgent first, then
-- oldest) and stops at the first whose lane is free. The due time and the lane are in the
-- index, so jobs passed over (not yet due, or their lane busy) cost no read of the table.
CREATE INDEX jobs_claim ON jobs (state, priority DESC, id, run_after_ms, lane);
