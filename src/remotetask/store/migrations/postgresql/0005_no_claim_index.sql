-- Claim keys lose their unique index: every write guarded by a claim key finds its row
-- by the job's id (``WHERE id = ? AND claim = ?``), so nothing reads the index, and each
-- claim paid for an insert into it with a uniqueness check (about 7 % of a claim and
-- finish of 256 jobs). A key is 96 random bits, checked only together with its job id.
DROP INDEX IF EXISTS jobs_claim;
