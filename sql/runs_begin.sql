-- runs_begin: one new `runs` row for a command that starts now (status 'running'); returns its run_id.
INSERT INTO runs (run_id, command, config, version, started, status)
VALUES (nextval('runs_seq'), $command, $config, $version, now(), 'running')
RETURNING run_id
