"""``make bench``: how fast and how cheap the pipeline is, each figure measured once beside its baseline.

Everything runs on this machine: moto's server (in a subprocess) for SQS and DynamoDB, the local
tenant (a thread here), and the webhook receiver (a subprocess, so that its work is not ours).
Logs come from :class:`devkit.logs.LogFactory`: about 1.4 KB each, every 500th about 200 KB.

1. Backlog drain: logs per second the poller enqueues when the tenant allows R requests a second
   (token bucket, 429 beyond), against the ceiling R x 100 (a full page per request). The bucket's
   burst is spent by a warm-up run first, so the measured run gets R requests a second and no more.
1b, 1c. Backlog read in time slices at Enterprise (16 requests/s, burst 50) and Essentials (100 a
   minute, burst 10) limits with 250 ms round trips, from an empty bucket: logs a second as a share of
   the ceiling (rate x 100), beside today's sequential reader measured in the same run (``drain``,
   ``devkit.drain_bench``; reading only).
2. Delivery: logs per second the deliverer handler delivers to a receiver that takes 50 ms a request,
   at WEBHOOK_CONCURRENT_CALLS=C, against the ideal C x 100 / 50 ms. Only the handler's invocations
   are timed: the queue is loaded and the events are received before (that is the event source's
   work, not the function's).
3. Cost per log: CPU microseconds per log in each handler (the poller's calling thread; the deliverer's
   whole process, as its requests run in worker threads) against a bare loop making the same requests
   with requests and boto3 and nothing else; and the poller's with three routes (one hashing PII)
   against the one default route (``routes.py``; target: at most 30 % more per extra route).
4. Cold start: importing each handler module in a fresh interpreter, against ``import boto3``.
5. Peak memory (peak resident set, as Lambda's "Max Memory Used") of a poller run over 10,000 logs
   and of a deliverer batch.
6. The cost model: dollars per million logs at AWS list prices (``cost.PRICES``), from the requests
   the runs above made (SQS by the 64 KB chunks of each request's payload, its messages' bodies and
   attributes; DynamoDB by request, the deliverer's routes' breaker and delivery record included);
   and the fixed cost a month of an idle deployment, from template.yaml's own resources (``fixed_cost``:
   alarms, dashboard, secrets, custom metrics, the schedule's runs, the event source's polling),
   against a target of under $3.
7. Latency from a log's date to its delivery on the default one-minute schedule (median and 95th
   percentile): one poller run over a minute's new logs and their delivery, timed, plus the wait
   for the next run from 0 to 60 s alike (``devkit.latency``); the baseline is that wait alone.

``make bench`` or ``.venv/bin/python -m devkit.bench [--scale 0.1]``. Figures vary from run to run by
a few percent; the tests only check that the table is complete (``tests/integration/test_bench.py``).
The exit status is 1 when a figure misses its target (from ``--scale 1`` up; smaller runs report it).

Modules: ``config`` (scale, figures, counts), ``runner`` (the shared set-up, the steps in order),
``throughput`` (1, 2, 7), ``drain`` (1b, 1c), ``footprint`` (3 to 5), ``tools`` (counters, the receiver process, bare
loops), ``cost`` and ``fixed_cost`` (6), ``report`` (the table, the exit status), ``cli``.
"""
