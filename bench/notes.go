package main

// notes follow the figures in docs/benchmarks.md: how each figure is taken,
// what limits it, one idea for going further, and what the tuning bought.
// They hold no figures of a run (those are in the tables above them).
const notes = `
## How the figures are taken

Everything runs in one process, as ` + "`collections dev`" + ` does: the embedded
Temporal server on its SQLite file, the worker, the HTTP API and the
application database (SQLite). The bare baselines are minimal workflows on
their own task queue (` + "`bench-bare`" + `), served by a second worker in the same
process with the same worker options, against the same server — so a noisy
machine slows both sides alike, and the ratios hold better than the rates.

With ` + "`-temporal-postgres URL`" + ` the embedded server keeps its state in
PostgreSQL instead: the URL's database and ` + "`<name>_visibility`" + `, created
and brought to the server's schema version at start by Temporal's own
schema tool (under a second on this machine), with ` + "`-shards`" + ` history
shards (default 4; fixed when the databases are created). With ` + "`-db URL`" + `
the application database is on PostgreSQL too. ` + "`-fresh`" + ` (on by default)
drops those databases first, so every run starts empty. The run table
above says where each store was, with the PostgreSQL server's version and
its ` + "`fsync`" + ` and ` + "`synchronous_commit`" + ` settings; PostgreSQL runs beside the
bench on the same cores.

- **Ingest**: ` + "`POST /v1/invoices`" + ` (validated, stored, workflow started, answered)
  against ` + "`client.ExecuteWorkflow`" + ` of a workflow that waits for a signal, each
  side in turn for each round, after the process has gone quiet, at the same
  concurrency. The invoices' first reminder is days away, so this is the
  start path; sending is measured by punctuality.
- **Payment reaction**: from sending the signed payment webhook (full
  payment) to the workflow's close time as the server recorded it, one at a
  time, alternating with signal → completion of a bare workflow. (A client
  long-polling for the result is now and then told up to 20 s late, the
  poll's expiry; that is not the workflow's reaction, so the server's close
  time is used.)
- **Punctuality**: N invoices whose first message falls due inside one
  window (15 minutes per 10,000, the target's rate), all started before the
  window opens; lateness is the message's ` + "`sent_at − scheduled_at`" + ` in the
  outbox (the time the provider call returned, against the step's due time).
  The bare side is a timer and an activity noting the time, in the window
  before ours.
- **Capacity**: growth of the process's resident memory and live Go heap
  (after a collection) and of the databases after starting the given
  number of open, sleeping workflows of each kind, on the bench's
  concurrency (progress on stderr every 10 s; a failed start is tried again
  with the same id or invoice number, and counted). The worker keeps at
  most 10,000 workflows in its sticky cache, so memory per 10,000 is the
  cost of a full cache; beyond it, the cost is on disk, and memory per
  10,000 falls with N. Resident memory also keeps what the Go runtime and
  SQLite's page caches took and did not give back, so the live heap is the
  steadier figure. On SQLite, Temporal's file is counted with its WAL, which
  grows to its high-water mark and is not truncated: small N overstates
  the bytes per workflow. On PostgreSQL the bytes are ` + "`pg_database_size`" + ` of
  Temporal's two databases and of the application's: tables, indexes and
  TOAST, dead rows not yet vacuumed included, the server-wide WAL not;
  visibility's share is given, as its table carries an index per search
  attribute column. PostgreSQL's memory (shared buffers, one process per
  connection) is outside the bench process, so resident memory is not
  comparable between the two modes; the live heap is.
- **Cost**: events and bytes of one run's history on compressed policies:
  the standard policy's steps at 0 s, 1 s, 2 s … (` + "`bench-fast`" + `) and one with
  only notice, delivery check and reminder close together (` + "`bench-remind`" + `).

## What limits each figure, and one idea each

- **Ingest** is bound by CPU. Each invoice is, besides the bare start, a
  validation, the key, customer and policy reads, and one insert of the
  invoice (` + "`INSERT … ON CONFLICT (number) DO NOTHING`" + `: a repeated number is
  found by the insert, not by a read before it). A customer with a credit
  limit takes, instead of the plain insert, one transaction that locks the
  customer's row, reads it again and checks the limit under that lock, so
  that two invoices at once cannot both fit under a limit only one fits; a
  customer without one has no rule to race for and takes no lock (the
  bench's customer has none). Then come the visibility records of a
  workflow started with all its search attributes, and then its first task:
  the first timer and the status saved by a local activity. A run started
  today is revision 1 (` + "`InvoiceInput.Revision`" + `): it calls no
  ` + "`workflow.GetVersion`" + `, so its first task writes no version marker and no
  ` + "`TemporalChangeVersion`" + ` upsert (each was a rewrite of the visibility
  row). On SQLite a CPU profile (` + "`-cpuprofile`" + `) shows it compiling
  Temporal's long visibility statements anew each time as the largest single
  item. Eager workflow start (the SDK's ` + "`EnableEagerStart`" + `, the first task run by
  the API's own worker in ` + "`dev`" + `) was measured slower (two SQLite pairs: 10.1
  and 9.8 invoices/s with it, 16.6 and 16.9 without) and is not used. *Idea*:
  let the API store the status the first task would save (worked out by the
  same function), so the first task saves nothing; a separate read pool
  for the SQLite application database.
- **Payment reaction** is one workflow task, as the bare one: the webhook
  is a signal (after two statements: the invoice's lookup and the
  deduplicating insert), and the task records the payment and saves the
  resulting status in one local activity and one transaction (revision 1;
  the workflow works out the status it expects, and the activity saves it
  only if the database's balance agrees, else the workflow saves its own),
  then closes the workflow. What is left over the bare signal is the
  webhook's own work and that transaction. Payments made through
  ` + "`POST /v1/invoices/{id}/payments`" + ` are updates and keep scheduled activities
  (see cost): two more round trips. *Idea*: the p99 is a handful of slow
  payments out of 50; a longer run (` + "`-reaction 500`" + `) would tell a tail
  from noise.
- **Punctuality** is bound by the timer queue and the send path (two
  activities: claim and send, then save the status), and on a busy machine by
  CPU. *Idea*: for large windows, more history shards spread the timer queue
  over more readers (` + "`-temporal-postgres`" + ` with ` + "`-shards N`" + ` and fresh
  databases: the shard count is fixed when they are created).
- **Capacity** is bound by memory only for the workflows in the sticky cache;
  a sleeping invoice costs nothing but disk otherwise. On SQLite the single
  writer bounds how fast they can be started; on PostgreSQL (` + "`-temporal-postgres`" + `,
  the shape for 100,000 open invoices) it is CPU, the two cores the bench
  and PostgreSQL share (busy throughout the starts). On PostgreSQL most of
  Temporal's bytes are visibility's: each row carries 74 indexes (Temporal
  1.32's schema), most of them one per search attribute column, and every
  search attribute upsert writes a new entry in each until vacuum reclaims
  the old. *Idea*: a
  smaller sticky cache (` + "`-sticky-cache`" + `) when memory is short; on
  PostgreSQL, fewer search attribute upserts (see cost) save visibility
  bytes as well as time.
- **Cost** is bound by the workflow's shape. Each wake-up (the start, a
  send's completion, a timer, a payment) is a workflow task (three events),
  each send an activity (three), each wait a timer (two), each stage change
  a search attribute upsert, and each visible change one local activity
  marker, saved once per burst of changes; a delivery check and a reported
  payment are saved with their status in the same local activity (one
  marker). Runs started today call no ` + "`workflow.GetVersion`" + ` (revision 1), so
  they carry no version markers and no ` + "`TemporalChangeVersion`" + ` upserts; runs
  started before replay as they ran. Updates (a person's payment,
  dispute, promise…) keep scheduled activities for their own writes and the
  status save after them: an update is durable only once the task that
  accepted it completes, and Temporal aborts and retries racing updates, so
  a local activity could write an outcome the workflow then never takes.
  On Temporal Cloud the billable actions follow the same shape: the start,
  each timer, each activity, each signal or update, each search attribute
  upsert but the free ` + "`TemporalChangeVersion`" + ` ones, and one action per
  workflow task that records markers (its local activities and version
  markers together); the workflow tasks themselves are free. Not in the
  history, and so not counted here: each ` + "`GET /v1/invoices/{id}`" + ` of an open
  invoice queries its workflow, one action a look.
  *Idea*: what is left of issued → reminded → paid is structure: six
  workflow tasks, two sends as scheduled activities, three timers. The next
  events to go are the first task's status save (see ingest) and the status
  save after each send (saved by the send's own transaction, as the payment
  is now); sending by local activity would cut a task and an activity per
  send but puts a provider call inside the workflow task.

## Tuning: what each change bought

Each knob is a flag of the bench (` + "`-dynamic key=value`" + `, ` + "`-sqlite-conns`" + `,
` + "`-sqlite-pragma`" + `, ` + "`-workflow-pollers`" + `, ` + "`-activity-pollers`" + `, ` + "`-max-activities`" + `,
` + "`-max-workflow-tasks`" + `, ` + "`-sticky-cache`" + `), measured on its own against the same
command; what helped was made the default.

| change | measured | kept |
|---|---|---|
| bookkeeping as local activities and the status published once per burst (the ` + "`local-bookkeeping`" + ` workflow change): a status change costs about two history events (an upsert and a marker) instead of seven (an upsert, an activity's three and a workflow task's three); see cost | issued → reminded → paid 102 → 43 events, unpaid to the agency 252 → 130; reaction ours/bare p50 6.67× → 1.80×, p99 3.45× → 2.35× (SQLite, 50 payments, one run each side of the change) | yes |
| ` + "`POST /v1/invoices`" + ` answers from what was stored instead of querying the just-started workflow (which waited for its first task, then a query task) | ingest ours/bare 0.18–0.19× → 0.66–0.67× (two runs, 150 × 3 rounds) | yes |
| history task queue reads per shard a second (` + "`history.transferProcessorMaxPollRPS`" + `, timer, visibility) 20 → 1000: with one shard each workflow and activity task waited up to 50 ms to be handed to matching, and a payment's reaction is four such hand-offs | reaction p50 bare 49 → 12 ms, ours 200 → 50 ms; p99 ours 214 → 107 ms (observed by the client, before the bench used the server's close time) | yes (embedded server default) |
| eight workflow and eight activity task pollers instead of the SDK's two each (` + "`-workflow-pollers 8 -activity-pollers 8`" + `, both workers) | punctuality N=500 in 45 s, two pairs of runs: ours p99 1008 → 469 ms and 346 → 161 ms; bare p99 252 → 438 ms and 303 → 167 ms (noisy) | yes (every worker's default, ` + "`WORKER_POLLERS`" + `) |
| four connections to the server's SQLite file (` + "`-sqlite-conns 4`" + `; WAL lets readers run beside the writer) | ingest ours/bare 0.65× vs 0.74× with one; reaction p50 71 vs 52 ms: worse | no |
| eager activity execution (` + "`system.enableActivityEagerExecution`" + `) | reaction p50 200.0 → 199.8 ms: nothing | no |
| one task queue partition (` + "`matching.numTaskqueueRead/WritePartitions=1`" + `) | reaction p50 unchanged (46 vs 49 ms bare) | no |

Durability is not a knob: the embedded server and the application database
keep SQLite in WAL mode with ` + "`synchronous=NORMAL`" + `. A commit is in the WAL
before it is acknowledged, so a process killed at any moment (SIGKILL)
loses nothing; only a power cut or kernel crash can lose the last
transactions since the WAL was last synced. ` + "`-sqlite-pragma synchronous=full`" + `
closes that too (an fsync per commit); the bench refuses a different journal
mode or ` + "`synchronous=off`" + `. On PostgreSQL durability is the server's own
settings, shown in the run table (the defaults, ` + "`fsync=on`" + ` and
` + "`synchronous_commit=on`" + `, flush the WAL before a commit is acknowledged);
the embedded server refuses a URL that asks for ` + "`synchronous_commit=off`" + `.
`
