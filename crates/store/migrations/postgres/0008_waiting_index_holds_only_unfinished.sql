-- The claim reads this index for queued executions and expired leases; a finished execution is
-- never either. Keeping only unfinished ones (every end sets finished_at) means an execution's
-- end takes its entry out instead of moving it into a 'success' region that only grows: one
-- page fewer per end in the log, and an index the size of the queue rather than of the history.
-- The claim queries say `finished_at IS NULL` so the planner can use it.
DROP INDEX executions_waiting;
CREATE INDEX executions_waiting ON executions (status, run_after, id) WHERE finished_at IS NULL;
