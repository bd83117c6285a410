-- jobs.service_id loses its foreign key: the check costs about 12 microseconds for every
-- job inserted, more than half of a bulk insert. A job's service id always comes from
-- a services row, and services rows are never deleted, so the same guarantee is kept by
-- refusing to delete, truncate or renumber services, once per statement.
ALTER TABLE jobs DROP CONSTRAINT IF EXISTS jobs_service_id_fkey;
CREATE FUNCTION remotetask_services_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'remotetask services are never deleted or renumbered: jobs refer to them';
END
$$;
CREATE TRIGGER services_kept BEFORE DELETE OR TRUNCATE OR UPDATE OF id ON services
    FOR EACH STATEMENT EXECUTE FUNCTION remotetask_services_kept();
