-- runs_recent: the last $n runs, newest first, with their duration in seconds.
SELECT
    run_id, command, status, started, finished,
    date_diff('millisecond', started, finished) / 1000.0 AS seconds,
    error
FROM runs
ORDER BY run_id DESC
LIMIT $n
