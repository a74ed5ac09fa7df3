/**
 * Cluster coordination as a pure state machine: membership, failure detection, and leader election
 * by gossip. It performs no I/O; a driver (actors/cluster.ts) feeds it time and received records and
 * carries out what `takeReady` returns, persisting before publishing.
 *
 * ## Gossip
 * Every node publishes a MemberRecord about itself every `gossipIntervalMs`, and at once whenever
 * its election state changes. Records carry addresses, load metrics and the election state below;
 * a phi-accrual detector over their arrivals yields member states joining, up, suspect, down,
 * leaving. A record carries the configuration's member lists on the leader, for a few records
 * after a node adopts a new configuration, and again whenever a peer's record shows it an older one
 * (so a node that lost those records catches up even while nobody leads); else only its version.
 *
 * ## Membership: voters and workers
 * The configuration, versioned by (epoch, counter), lists the admitted members in two sets: the
 * voters (`members`, the quorum set) and the workers (`workers`: they run jobs and gossip load but
 * never count for a quorum). A node started without bootstrap peers founds a cluster with itself as
 * the only voter; every other new node stays `joining` until the leader admits it (step 6). Only
 * a leader holding its lease changes the configuration, and only after its previous change is held
 * by a majority of the voters; each change adds or removes at most one voter (Raft's single-server
 * rule, asserted), so any two consecutive quorum sets' majorities intersect. Moving members in and
 * out of the workers changes no quorum, so joiners and leaving workers go in batches. Nodes that
 * join a minority side cannot turn it into a majority: they are not voters. The leader's steps, in
 * order, one per change (live joiners ride along as workers with a change of steps 1-5: they count
 * for no quorum, and must not wait behind the voters' growth):
 * 1. a leaving voter is removed (others first, itself last, and then it steps down);
 * 2. leaving workers are removed;
 * 3. a voter silent for `voterDownMs` is moved to the workers, if a live worker can replace it:
 *    it stops counting toward the quorum, and comes back as a worker if it ever returns;
 * 4. while there are fewer voters than the target (`voters`, else 3 below 5 members and 5 from
 *    then on, so the count stays odd once grown), the live worker with the most up-to-date log is
 *    promoted (a worker is live once it says `up`, i.e. it holds the configuration that admits it);
 * 5. above the target, a voter is demoted (a down one first), only if the rest keep a live majority;
 * 6. live joiners are admitted: one straight as a voter while below the target (so a young cluster
 *    never depends on its founder alone longer than admission takes), else all as workers.
 * With a replicated job log, "live worker" in steps 3 and 4 and "joiner" admitted as a voter in
 * step 6 mean one whose log has caught up, and every step waits for logs too (see "Log catch-up").
 * Replacing a dead voter is step 3 then step 4, two single-server changes. Failures alone never
 * remove a voter before `voterDownMs` (removing members on suspicion is how gossip clusters split
 * their brain), and never without a live replacement. An operator may remove a down member by hand
 * (`removeMember`, the same rules). While a change is not yet held by a majority, the leader's
 * lease may also be counted over the previous configuration (the majorities of the two intersect),
 * so a change does not interrupt it. A leave settles when the node is out of the configuration, or
 * when every other live voter is leaving too.
 *
 * ## Membership at scale (membership 'swim')
 * With 'gossip' every node publishes its record to all every gossipIntervalMs, and every record
 * costs each receiver a signature check: per node O(N) records a second, O(N²) for the cluster.
 * With 'swim' only the nodes whose records the election and configuration need publish
 * periodically: voters (pre-votes, votes, lease echoes, configurations held), joiners (admission)
 * and the leader (its record carries the configuration to everyone). A worker (admitted, up, not
 * a voter) publishes only when its own state changes (admission, a configuration that makes it a
 * voter or not a member, leave, a grant), at most once per workerRecordMinMs, plus a refresh every
 * workerRefreshMs on average (±REFRESH_JITTER, so that workers admitted together do not refresh
 * together), stretched so that all workers' refreshes add up to workerRecordsPerS on average (its
 * job types, durations and log position travel there, to the voters and the leader alone:
 * `newsFromWorker`). It does not echo lease sequences: only voters' echoes count. Its liveness comes
 * from SWIM (src/cluster/swim/core.ts: one probe a period, k indirect probes, Lifeguard's suspicion;
 * detection in about a period plus the suspicion timeout, an update reaches all in O(log N)
 * periods) through `liveness`: alive → up, suspect → suspect, dead → down, left → leaving; and
 * its numeric load from SWIM's piggybacked loads (swim/load.ts). Per voter: records from the other
 * voters (+1 joiners) at gossip rate plus workerRecordsPerS; per worker, the leader's alone instead
 * of all voters' (see "Election traffic"); SWIM's O(1) messages a period, so the cost no longer
 * grows with N once past the refresh floor. For the same reason the leader's
 * record carries the member lists only as everyone's does (CONFIG_REPEAT records after a change,
 * and for peers heard behind, or without a configuration although members), never a worker's: a
 * worker that sees a newer version says so in a record, to be served, if the lists have not
 * followed within workerRecordMinMs and it knows a live leader, to the voters and the leader.
 * (It used to publish to all while behind, each record a signature check on every node, one a
 * second for as long as it kept hearing newer versions, leader or not; without a leader nobody
 * serves a worker, as no other node's records reach it.) While members join, the configuration
 * changes every leader tick; if each change made every worker publish, every node would take in
 * O(N) records a second.
 * A node that adopts a configuration hands the workers it newly lists to SWIM (`Liveness.admit`),
 * so that SWIM knows every admitted worker even when the join update, crowded out of full
 * piggybacks by a burst of joins, did not reach it; and, on its first configuration too, a listed
 * worker SWIM does not know whose record it has heard. Voters keep the phi detector: the election
 * reads it, and voters publish at the same rate as before (a member that just became a
 * voter starts a fresh detector, its sparse worker records being no lag). Safety is unchanged:
 * SWIM decides only the states of workers, which count for no quorum and hold no lease; they
 * enter the leader's choices only as "live worker" (steps 3, 4), which also needs the worker's
 * record to say `up`, i.e. that it holds the configuration; a worker's records being fewer only
 * removes grants and echoes that counted for nothing.
 *
 * ## Election traffic (membership 'swim')
 * Pre-votes, votes, grants and lease echoes matter only to voters, yet on the topic every node
 * took in every voter's 4 records a second, each a signature check: 20 of a worker's 24 records a
 * second at 50 nodes (simulator). So a voter that does not lead sends its records point to point
 * (Ready.to, CLUSTER_RECORD_PROTOCOL over the peer channel SWIM uses, whose handshake authenticates
 * the sender, so no signature) to the other voters of its configuration and to the leader it
 * follows (named apart: a leader that removed itself is no longer a voter). The leader's records
 * (the leader, epoch, lease, configuration and identity, at gossip rate and at once on a change)
 * and workers' sparse records (their addresses and job types) are for every node, so these go
 * point to point to every node known: on the topic each one cost a signature and was relayed by
 * every mesh member to its mesh neighbours, with announcements (IHAVE) besides, about ten frames
 * on every node for each record instead of one. A voter or leader that is up but not connected, a
 * joiner the leader cannot reach yet, and (at a bounded rate) workers not connected yet make the
 * driver publish to all as well (`recordFallsBack`);
 * joiners reach the topic only as "Joining" below says, so the topic is nearly silent once the
 * first connections are up. A voter
 * that has seen a newer configuration than it holds publishes to all until it holds it, so that
 * whoever holds it serves it the lists (repeatConfigFor) even if its stale voter list misses them.
 * Of what a follower sends, only the leader reads the echoes (a lease sequence, load), 4 a second:
 * at 50 peers each follower took in 12 a second of the others' for nothing, and at 10 the traffic
 * grew every voter's young generation while the cluster formed (7-9 MB each; test/bench/RESULTS.md,
 * "election traffic"). So a follower that knows a live leader sends its echoes to that leader
 * alone, and its news (`newsForVoters`: pre-vote, grant, vote, epoch, configuration, status,
 * addresses, and at most once per leaderToWorkersMs its log position) to the other voters as well;
 * without a live leader, all of its records go to them all, so a pre-vote round and an election run
 * as before. A follower takes in the leader's 4 records a second and the others' news, whatever
 * the number of voters. Safety is unchanged: who hears a record changes, never what a record says,
 * and every record that grants, votes or asks (or carries the member lists) still goes to every
 * voter. Liveness: a candidate ranks the others by the log positions of their last news, up to
 * leaderToWorkersMs old under load; that orders candidates, never who may win (rule 7 reads the
 * asking record itself).
 * A node that is not a voter no longer hears the voters, nor a follower the other followers
 * (`hearsPeriodically`), so SWIM decides their states there as it does workers' (`swimDecides`),
 * and every node hands SWIM the voters with each configuration; the record detector and the lag
 * samples run between the leader and each voter, and the first record after either side became
 * a voter, or the leader changed, starts a fresh one. Nor does a non-voter learn their addresses
 * from their records, so the leader's records that carry the member lists (the one that admits a
 * worker among them) carry the addresses of the voters it has heard as well (MemberRecord.voters,
 * as Raft's configuration carries its servers'), and a node keeps those of the leader it follows
 * (`learnVoters`): a worker links to the voters as the voters link to it (src/cluster/dials.ts),
 * where at 50 real peers one whose only link was the leader was left with none for good when the
 * leader died.
 * Workers do not hear every record of the leader either: they echo no lease, so the leader sends
 * them one only when something they read changed (epoch, configuration, status, addresses,
 * identity; the member lists ride on those) and else every leaderToWorkersMs (1 s, against 4 a
 * second to the voters); a worker waits one more such period before it takes its leader for gone
 * (leaderSlackMs: 2·leaderToWorkersMs beyond the election timeout, less a gossip interval, so that
 * one record lost or late does not leave it without a leader; only its view of the leader and its
 * own grants, which count for nothing, wait), and takes a lag sample only beyond that.
 * A new leader's first record is news (a new epoch) and reaches workers at once, so they see a
 * failover as fast as before. What a worker takes in per second: the leader's records
 * (1/leaderToWorkersMs), workerRecordsPerS of workers' refreshes, and joiners while they join,
 * whatever N and the number of voters. Safety is unchanged: records and their
 * handling are the same, only who receives which one changes, and losing records never breaks
 * the election's rules (they hold under any loss); the leader, the only node whose records decide
 * something for non-voters, still reaches all. Liveness: voters are dialled first (dials.ts); a
 * record a voter that looks up cannot be sent to (no connection) goes to all instead (the driver).
 *
 * ## Joining (membership 'swim')
 * A joiner used to publish to all every gossip interval until admitted: with N nodes starting at
 * once that is O(N) records a second, each signed, checked and relayed by every node, O(N²) for
 * the host, and on one machine it starved the handshakes and admissions that would end it (50
 * peers never formed). Now a joiner sends its records point to point to the live leader it
 * follows, and before it knows one to the peers it is connected to (`met`: its bootstrap peers,
 * and any that dialled it); the leader sends its own to every joiner it has heard of, so admission
 * takes one record each way when the bootstrap peer leads. While it knows no live leader its
 * records also go to the leader it last heard of (a leader too slow to look live still admits),
 * and to all: at once if it has no connection, else after joinerTopicMs, then twice as long each
 * time up to JOINER_TOPIC_MAX_GAPS of it, for a bootstrap peer that does not lead and passes nothing
 * on (a voter's records go to voters only). One reaching the leader is all it takes, and at a fixed
 * 2 s, 32 joiners waiting on a leader starved of CPU were 16 signed records a second that every
 * node checked, a fifth of a 50-peer host's CPU, which kept the leader starved. The leader,
 * hearing it there, falls back to the topic for it until its dial connects. Other nodes never fall
 * back for a joiner: it is the leader's to admit. Its periodic records come once per
 * joinerRecordMs (1 s), not per gossip interval: admission needs one record, and 49 joiners at 4
 * a second were 200 records a second into the leader while it admitted them; the leader's detector
 * expects that interval of a joiner's records. Between them it ticks at the calm pace ("Tick
 * pace"). A joiner does not echo the leader's records (an
 * echo counts for a lease only from a voter): with N joiners the leader took in N more records a
 * second for nothing. And like a worker it hears the leader at once on news (the configuration
 * that admits it) and else once per leaderToWorkersMs, waiting that much longer for it. All of
 * this holds until a configuration admits it, not only while it holds none: a joiner takes the
 * member lists from the leader's records before it is admitted (`quietJoiner`). Safety is
 * unchanged: who hears a record is all that changed.
 *
 * ## Log catch-up (with the replicated job log)
 * Configuration changes are gossiped, not entries of the replicated log, so Raft's guarantee that
 * a majority of each new configuration holds the log (its configuration entry is committed by that
 * majority before the next change) must be made here. Without it: voters {A,B,C}, X committed on
 * A and B; add D and then E, both with empty logs; {C,D,E} is a majority of {A,B,C,D,E} that
 * lacks X and elects C, and X is lost. The replicator gives the core its commit index
 * (`setCommitIndex`; the leader's is exact) and, on the leader, how far each member's log is known
 * to match the leader's and be durable (`setLogMatches`: the acknowledgements of the epoch it
 * leads, listing only members that acknowledged at least the epoch's first entry). Member m "holds
 * the log up to n" when it is listed with an acknowledged end of at least n. Not the
 * gossiped position: that one covers a write still under way (the election needs it so), and a
 * write that then fails would leave a voter admitted on entries it never held. Entries of an epoch
 * are written only by that epoch's leader, and a follower acknowledges only after log matching
 * with its leader, so such a member holds exactly the
 * leader's log below that end; as the leader's first entry of the epoch (the no-op) lies beyond
 * every entry committed before the epoch (the leader holds them all: election rule 7), it holds all
 * of those too, whatever the commit index says. Two rules, only once a commit index was ever set:
 * 1. A member becomes a voter (promotion, replacement, straight admission) only if it holds the
 *    log up to the commit index this leader knew when the acknowledgements were last reported.
 *    (A learner's acknowledgement trails a commit index that moves on every append, so "now"
 *    would starve a busy cluster.)
 * 2. A change is made only once a majority of the current voters (the leader counting itself)
 *    holds the log up to the commit index at the time the leader applied the current
 *    configuration (0 for one it inherited on winning; the epoch alone then covers everything).
 * Claim: whenever the leader changes the configuration from C, every committed entry is held by a
 * majority of C. Entries committed before C was applied: by rule 2 (the replicator reports its
 * commit index after every input, so the index noted at the change is the commit index then).
 * Entries committed since: the replicator reads the voters before every input and counts commits
 * over them, so by a majority of C. A single-server change
 * to C' keeps every majority of C' intersecting every majority of C, hence the holders of every
 * committed entry; and rule 2 re-establishes the claim for C' before the change after it. This
 * holds for removals as for additions: a removal (step 1, 3, 5, by hand) is one single-server
 * change made under rule 2, so the majority that holds the log in C meets every majority of the
 * smaller C'. Rule 1 is not needed for safety given rule 2; it keeps a voter that cannot yet
 * acknowledge from joining the quorum (4 voters with one empty need 3 of the other 3 to commit) and
 * keeps rule 2 from holding the next change up. The A..E example: D is admitted only once it holds
 * X (or, under rule 2 alone, E waits until a majority of {A,B,C,D} does). Liveness: the leader
 * replicates to learners (a few members and joiners that are not voters, chosen by
 * src/replication/learners.ts), so a joiner below the target that has not caught up is admitted
 * as a worker at once and promoted as soon as it has; commits
 * themselves need a majority's positions, so rule 2 is met one gossip round after a change.
 * Caveat: a position is reported before the write that reaches it is durable (rule 5 of
 * src/replication/core.ts), so a member that loses power mid-write may have counted as holding
 * entries it then lacks; closing that needs acknowledged (durable) positions from the replicator.
 * A node whose job log lives outside the cluster (Kafka, the shared file log) never sets a commit
 * index, and its leader changes configurations as without these rules.
 *
 * ## Identity
 * The founder names its cluster with a random id (from the environment's Random), persisted with
 * the first state, before any record leaves the node. Every record carries its sender's id (null
 * while not admitted). A node ignores, and counts, records that carry an id other than its own, so
 * two clusters never merge: not through a bootstrap address of the wrong cluster, nor through a
 * member whose data dir was wiped and that founded afresh. A node without an id adopts it from the
 * record whose configuration admits it, or from its configuration's leader (a cluster formed before
 * ids existed gets one from its leader). Ignoring records can only remove votes and members, never
 * add them, so this cannot weaken the election's safety.
 *
 * ## Election (Raft's rules, carried by gossip)
 * 1. Epochs and votes. Each node persists (epoch, vote) and votes at most once per epoch. Only a
 *    voter of its own configuration grants pre-votes or votes: a candidate counts its voters'
 *    answers alone, and a worker's cost it a durable write and a record to every voter at the
 *    height of an election (50 peers: 45 of each within 100 ms, on a saturated host). A voter
 *    that does not hold the configuration that made it one yet answers once it does (from a record
 *    that carries the lists: the leader's, or a voter's repeat of them, `repeatConfigFor`).
 * 2. Pre-vote. A node that has heard no live leader for `leaseMs·(1+drift)` and sees a majority of
 *    voters alive asks for pre-votes for epoch+1 without changing its own state; others grant only
 *    if they too have no live leader. Only with a majority of grants does it persist epoch+1 and a
 *    vote for itself. A node cut off one way or in a minority therefore never inflates epochs. A
 *    record shows one grant, held for one candidate until that candidate is down or has not moved
 *    on for a pre-vote round: a candidate that cannot hear the grants must not hold them for ever.
 *    Grants bind nothing else (votes are what is persisted), so moving one is safe. A node that
 *    has just voted neither asks nor grants another candidate a pre-vote for the next epoch for a
 *    round and a gossip interval (`votedRecently`; Raft restarts the election timer on a vote): its
 *    candidate may have won, and its first lease sequence be on the way.
 * 3. Deterministic choice. Candidates wait an extra `rank·candidateStaggerMs`, where rank is their
 *    position among live voters in configuration order (oldest member first; not the leader whose
 *    connection closed), so in the common case the oldest live member leads and candidates do not
 *    split the vote.
 * 4. Winning. A candidate with votes from a majority of its configuration leads the epoch and says
 *    so with an increasing lease sequence number in each record; others follow the leader of the
 *    highest epoch they see (persisting that epoch) and echo its newest sequence number. A candidate
 *    that hears of its epoch's leader, or holds a configuration made in its epoch, stops counting:
 *    votes of non-voters are harmless only until that leader makes them voters in the same epoch.
 * 5. Leases. Each sequence number carries the lease L the leader grants with it (leaseMs, or more:
 *    "Stretched leases"). The leader may act only while its lease holds: a majority (itself
 *    included) has echoed sequence numbers, each sent at a time t with a lease L, such that
 *    now < t + L·(1-2·drift) on its monotonic clock. A follower that takes in a new sequence with
 *    lease L does not grant or vote for L·(1+drift) from then, and echoes the L it waits out (the
 *    leader counts the shorter of the two); a restarted node waits the longest lease any leader
 *    grants after boot. With clock rates within `drift` of true time, a new leader is elected only
 *    after the old lease has ended in real time.
 *    A leader that steps down says so in its next record; followers that see it stop waiting.
 * 6. Check quorum. A leader that for a full `leaseMs` (plus the observed lag, below) has neither
 *    held its lease nor heard a majority of voters echo a newer sequence than they echoed before
 *    stops announcing leadership, so followers that still hear it (a one-way cut: no echo comes
 *    back) time out and elect a leader the majority can reach. Echoes that advance but come back
 *    later than the lease (49 peers joining on two cores: round trips of 2-8 s) show that both
 *    ways work: the lease lapses and the leader acts on nothing until it is back, but stepping
 *    down only started elections that the same delays made fail, again and again. A new leader,
 *    whose votes crossed the same paths a moment before, waits LEASE_STRETCH_MAX leases for a
 *    majority's first echoes (`quorumPatienceMs`). Not a sole voter: nobody else can be elected, and
 *    its lease lapses only when its own records were late (a founder swamped by 49 joiners stepped
 *    down and spent seconds electing itself again while they waited).
 * 7. Up-to-date logs (Raft §5.4.1). Each record carries the end of the node's replicated log
 *    (epoch of its last entry, index one past it), set by the log's owner through `setLogPosition`.
 *    A node grants a pre-vote or a vote only to a candidate whose log is at least as up to date as
 *    its own, compared by (epoch, index). An entry held by a majority is therefore held by every
 *    possible winner: the winner's majority intersects that one, and the shared voter refused any
 *    candidate behind it. The candidate's position is the one in the very record that asks, and
 *    records are ordered, so a vote never rests on a stale position. A node whose position was never
 *    set (null: its job log lives outside the node, in Kafka or the shared file log) compares as
 *    equal to every position, so such clusters elect exactly as without the rule. Candidates are
 *    ranked most up-to-date first (then configuration order), so the one that can win goes first.
 * 8. Resigning. A leader that cannot do a leader's work (its scheduler cannot run) calls `resign`:
 *    it steps down at once, announcing it in its next record so followers stop waiting out its
 *    lease, and does not campaign for RESIGN_HOLD_OFF_LEASES leases, which leaves room for another
 *    voter to win. Stepping down and not campaigning only ever remove leaders, so this cannot
 *    weaken any safety property; the reason is kept for /status until the node leads again.
 *
 * ## Lapses
 * A leader's lease can end while it still leads: its lease has lapsed (rule 5) but it has not
 * stepped down yet, which it does when the lapse outlasts the check quorum (rule 6), on a voter's
 * record of a newer epoch, on resigning (rule 8) or on leaving the configuration. Until then
 * `leaderEpoch` stays set, and the lease comes back in the same epoch once a majority echoes a new
 * sequence (under load, an event loop that stalled past the lease: issue 9). A lapsed leader has
 * promised nothing to another candidate: a vote in a newer epoch is given only to a voter's record
 * asking for it, and that record steps the leader down first (`followLeader` runs before
 * `answerCandidate`); pre-vote grants bind nothing. So `leaderEpoch` names exactly the epoch this
 * node may still lead, asserted in `takeReady` (a leader's epoch is its current epoch and holds its
 * own vote), and once it is null that epoch is over for this node. Components that keep state per
 * epoch (the scheduler, src/node/assemble.ts) keep it through a lapse and act only while the lease
 * holds; epoch fencing still covers pauses that outlast the lease unnoticed.
 *
 * ## Lag
 * On an overloaded host (issue 9: load average 30 on two cores) every event loop stalls for
 * hundreds of ms again and again. With timeouts fixed at one lease, a leader stalled a little over
 * a lease lost it (its followers timed out, or it stepped down by rule 6), a pre-vote or candidacy
 * round could not finish within its 600 ms window, and the cluster made and lost a leader every few
 * seconds for as long as the load lasted. So each node measures the lag it sees: the gap between
 * two records of one voter, or between two of its own ticks, beyond the gossip interval (the
 * sender's stall, ours, or the network's; a peer's gap past downAfterMs is a failure and not
 * counted), keeping the largest recent sample, forgotten linearly (LAG_DECAY) and at most
 * LAG_MAX_LEASES leases. The lag is added to the follower's election timeout (rules 2 and 5), to
 * the leader's check quorum (rule 6), and twice (out and back) to the pre-vote and candidacy
 * windows and the grant hold. And a follower echoes each new lease sequence of its leader at once
 * instead of in its next periodic record (which it replaces, so the traffic stays the same), so the
 * lease does not spend up to a gossip interval waiting for it. A node does not campaign on the
 * first tick after a stall of its own: Node runs the timer before the records that queued
 * meanwhile, so the leader's silence it would act on is its own; unless the leader's connection
 * closed after its last sequence (`lost`), which no queued record can follow.
 * Why this is safe: the lag only ever lengthens how long a follower waits before it grants or votes
 * (never below leaseMs·(1+drift), so rule 5's exclusivity holds as before), while the leader's
 * lease still ends at t + leaseMs·(1-2·drift); votes stay one per persisted epoch, and the windows
 * and the check quorum decide only when a node campaigns or stops announcing, never who may win
 * (rules 1, 4 and 7 are unchanged). The cost is liveness: under lag a dead leader is replaced up to
 * LAG_MAX_LEASES leases later; once the lag is gone the waits return to normal within
 * LAG_MAX_LEASES·leaseMs/LAG_DECAY (60 s). A follower whose connection to its leader closed after
 * the leader's last lease sequence (`lost`: a killed process closes its connections, a stalled one
 * keeps them) waits leaseMs·(1+drift) without the lag, as rule 5 alone requires.
 *
 * ## Stretched leases
 * With a fixed lease, a leader whose sequences came back later than the lease (49 peers joining on
 * two cores: round trips of 2-8 s) held no lease although every voter heard it: it admitted nobody
 * (configuration changes need the lease) and the joiners kept the host as busy as before. So the
 * leader measures the round trip of its sequences to each voter (the largest recent sample,
 * forgotten at RTT_DECAY per ms: 2 s in 10 s) and grants each new sequence LEASE_RTT_FACTOR times
 * the round trip within which a majority echoes (one slow voter does not stretch it), never less
 * than leaseMs nor more than LEASE_STRETCH_MAX leases. The record carries the lease
 * (MemberRecord.leaseMs); a follower waits out the longest lease it has echoed that has not ended
 * (a later sequence with a shorter lease does not shorten an earlier promise) and says in its echo
 * which lease it waits out, so a follower of an older version, which waits leaseMs, counts for
 * leaseMs. Safety is rule 5's for each sequence on its own; the cost is liveness: a leader that
 * dies while its lease is stretched is replaced up to LEASE_STRETCH_MAX leases later, and a
 * restarted node waits that long before it votes.
 *
 * ## Tick pace
 * `tick` evaluates timeouts, leases and the phi detectors, which need a fine grain while elections
 * or configuration changes may be under way, so the driver ticks fast (50 ms). Three roles have only
 * known deadlines, and `nextTickMs` names the next (the driver still ticks at least once a second):
 * - a lone leader (the only voter, no workers, no other node heard): its next record, which renews
 *   its lease (rule 5) as before; a record from anyone ends the role before it is taken in;
 * - a quiet worker under 'swim' (it takes part in no election: `campaign` and the leader's steps
 *   skip it, and SWIM decides the states it reads): its next refresh, a held-back state change,
 *   a configuration it is behind on, the time its leader's silence would become a timeout, the
 *   forgetting of silent non-members;
 * - a joiner under 'swim': its next record, and at most a gossip interval (the driver dials the
 *   leader it hears of on ticks), the forgetting of silent nodes.
 * Every other node, and these as soon as an input ends the role (a record, a configuration, a
 * lost lease, a leave), ticks fast again; no timeout, lease or phi reading changes, only how often
 * nodes that have none to evaluate wake up. A planned pause is no stall (see "Lag"): a tick is late
 * only by the time past when it was planned, or past when the fast pace resumed.
 *
 * ## Properties
 * - Election safety: at most one leader per epoch (one persisted vote per node per epoch, majority
 *   quorums of intersecting configurations).
 * - Epochs never go backwards on a node, across restarts (persisted before use).
 * - Lease exclusivity: at any real time at most one node holds a valid lease, given bounded drift.
 *   Pauses break this assumption, which is why every leader-only effect also carries its epoch and
 *   stores fence lower epochs.
 * - A minority side (no majority of voters reachable) has no leader with a lease: no manager duties.
 * - Liveness: once a majority of voters can talk both ways for long enough, one leader is elected
 *   and known to all within about leaseMs·(1+drift) + (rank+3)·gossipIntervalMs, plus the observed
 *   lag (at most LAG_MAX_LEASES leases; see liveness bound in actors/cluster.ts and the simulator
 *   scenarios; test/sim/replicated-lag.test.ts for a cluster under heavy lag).
 */
import type { Random } from '../env/types.js'
import type { NodeId } from '../net/types.js'
import { assert } from '../assert.js'
import { InvalidArgumentError } from '../errors.js'
import { PhiDetector } from './phi.js'
import { electionTimeoutMs, lagAt, LAG_MAX_LEASES, quietWarning, type ClusterSnapshot, type PeerBasis, type WorkerLiveness, viewAt } from './snapshot.js'
import { voterTarget } from './voters.js'
import {
  emptyMetrics,
  type ClusterConfig,
  type ClusterView,
  type LogPosition,
  type MemberRecord,
  type MemberState,
  type NodeMetrics,
  type PersistedClusterState,
  type RemovalRefusal,
  type SelfStatus,
  type Support,
} from './types.js'

/** Timing and thresholds of coordination. */
export interface ClusterOptions {
  gossipIntervalMs: number
  leaseMs: number
  /** Bound on how far any node's clock rate may differ from true time (0.02 = 2%). */
  drift: number
  suspectPhi: number
  /** A member suspected this long is down. */
  downAfterMs: number
  candidateStaggerMs: number
  /**
   * How many voters the leader keeps (1, 3, 5 or 7); undefined: 3 while the cluster has fewer than
   * 5 members, 5 from then on.
   */
  voters: number | undefined
  /**
   * A voter silent this long is replaced by a live worker. 30 s by default: well beyond a process
   * restart or a short network blip (which would otherwise cause two configuration changes and a
   * catch-up for nothing), yet short enough that a cluster that lost a voter for good regains its
   * fault tolerance within a minute.
   */
  voterDownMs: number
  /**
   * How workers' liveness and load travel ("Membership at scale" in the module doc). 'gossip' (the
   * default): every member publishes its record to all every gossipIntervalMs and a phi detector
   * watches each. 'swim': voters, joiners and the leader still do; workers publish only when their
   * own state changes and for a slow refresh, their liveness comes from SWIM (ClusterCoreInit.liveness)
   * and their load from SWIM's piggybacked loads.
   */
  membership: 'gossip' | 'swim'
  /** With 'swim': least time between two records of a worker (state changes wait for it). */
  workerRecordMinMs: number
  /**
   * With 'swim': a worker republishes its record at least this often, so a lost state change, its job
   * types and durations still arrive; the period grows with the workers so that the records all
   * workers publish together stay at most workerRecordsPerS.
   */
  workerRefreshMs: number
  /** With 'swim': records per second that all workers' refreshes add up to, at most (past workerRefreshMs). */
  workerRecordsPerS: number
  /**
   * With 'swim': how soon a connected joiner that knows no live leader publishes to all again
   * ("Joining" in the module doc), doubling each time; its other records go to the peers it is
   * connected to and the leader it last heard of.
   */
  joinerTopicMs: number
  /**
   * With 'swim': how often a joiner publishes its record, and the interval the leader's detector
   * expects of it ("Joining" in the module doc). Its first record and any change go out at once.
   */
  joinerRecordMs: number
  /**
   * With 'swim': how often the leader's records reach workers when nothing in them that workers
   * read has changed (every record goes to voters and joiners; "Election traffic" in the module doc).
   */
  leaderToWorkersMs: number
}

/** Defaults: a new leader acts well within 2 s of the old one's death. */
/**
 * The membership a node runs unless configured otherwise (the assembly and the CLI). The core's own
 * default below stays 'gossip', the mode that needs no liveness source, for a core built by hand.
 */
export const DEFAULT_MEMBERSHIP: ClusterOptions['membership'] = 'swim'

export const DEFAULT_CLUSTER_OPTIONS: ClusterOptions = {
  gossipIntervalMs: 250,
  leaseMs: 1000,
  drift: 0.02,
  suspectPhi: 8,
  downAfterMs: 3000,
  candidateStaggerMs: 150,
  voters: undefined,
  voterDownMs: 30_000,
  membership: 'gossip',
  workerRecordMinMs: 1000,
  workerRefreshMs: 10_000,
  workerRecordsPerS: 5,
  joinerTopicMs: 2000,
  joinerRecordMs: 1000,
  leaderToWorkersMs: 1000,
}

/**
 * What the core reads of SWIM (src/cluster/swim/core.ts satisfies it) with membership 'swim': a
 * member's status and its latest load figures (values laid out by swim/load.ts).
 */
export interface Liveness {
  member(id: NodeId): { readonly status: 'alive' | 'suspect' | 'dead' | 'left'; readonly incarnation: number } | undefined
  load(id: NodeId): { readonly version: number; readonly values: readonly number[] } | undefined
  /** Moves whenever `member` or `load` may answer differently; without it the core reads the source at every snapshot. */
  readonly changes?: number
  /** A member the configuration has just admitted, or one listed and heard: the source adds it if it has not heard of it. */
  admit?(id: NodeId, nowMs: number): void
}

/** What the driver must do after a step: all of it, so carrying it out never calls back into the core. */
export interface Ready {
  /** Write this state durably before publishing. */
  readonly persist: PersistedClusterState | undefined
  /** The node's record to publish (after persisting), or undefined. */
  readonly publish: MemberRecord | undefined
  /**
   * Who needs `publish`: undefined for everyone (the gossip topic); else these nodes only, sent
   * point to point ("Election traffic" in the module doc). Never empty while there is a record.
   */
  readonly to?: readonly NodeId[]
}

/** What a record carries from outside the core, read only when a record is due. */
export interface RecordInputs {
  readonly metrics: NodeMetrics
  readonly addresses: readonly string[]
}

interface Peer {
  record: MemberRecord
  detector: PhiDetector
  lastHeardMs: number
  /** What snapshots publish of this member (snapshot.ts); dropped with each record, built by the next snapshot that reads it. */
  basis: PeerBasis | undefined
  /**
   * Whether its last record arrived on the voters' path (`hearsPeriodically`: under SWIM a worker's
   * records are sparse, and a follower's echoes reach only its leader): the next one that does
   * after one that did not starts a fresh detector.
   */
  voterWhenHeard: boolean
}

interface Leading {
  readonly epoch: number
  seq: number
  /** Per lease sequence still able to matter: when it was sent and the lease granted with it. */
  readonly sentAt: Map<number, { readonly atMs: number; readonly leaseMs: number }>
  /** Per voter, the round trip of lease sequences ("Stretched leases"): its largest recent sample, decayed. */
  readonly rtt: Map<NodeId, { readonly ms: number; readonly atMs: number }>
  /** Last time the lease was valid (or when leadership began). */
  lastLeaseMs: number
  /** Per voter, when its record last echoed a newer lease sequence than its previous one ("Lag", rule 6). */
  readonly echoAdvancedMs: Map<NodeId, number>
  /** When leadership began. */
  readonly sinceMs: number
}

export interface ClusterCoreInit {
  self: NodeId
  addresses: readonly string[]
  persisted: PersistedClusterState | undefined
  /** True when this node may found a new cluster: it was started without bootstrap peers. */
  founder: boolean
  options?: Partial<ClusterOptions>
  random: Random
  nowMs: number
  /** Required with membership 'swim': workers' states and loads. */
  liveness?: Liveness
}

export class ClusterCore {
  readonly self: NodeId
  readonly options: ClusterOptions
  private readonly random: Random
  private readonly liveness: Liveness | undefined
  /** The workers of `config` as a set, for the per-member checks (rebuilt when the configuration changes). */
  private workerSet: { readonly of: ClusterConfig | null; readonly ids: ReadonlySet<NodeId> } = { of: null, ids: new Set() }
  /** Per SWIM-governed worker: the load version last seen and when, for MemberView.lastSeenMsAgo. */
  private readonly loadSeen = new Map<NodeId, { version: number; atMs: number }>()
  /**
   * The configuration `forget` last scanned the peers under, and a lower bound on when a non-member
   * peer was last heard (the earliest it kept, lowered for each new peer): no scan is due before it is silent long enough.
   */
  private forgetScan: { of: ClusterConfig | null; earliestHeardMs: number } = { of: null, earliestHeardMs: Infinity }
  /** The member map of the last snapshot; undefined once a member changed since (snapshot.ts: copied only then). */
  private publishedPeers: ReadonlyMap<NodeId, PeerBasis> | undefined = undefined
  /** The members SWIM decides of the last snapshot, with the configuration, the liveness source's `changes` and the leader followed (or this node, leading) it was read at. */
  private publishedLiveness:
    { readonly of: ClusterConfig | null; readonly changes: number; readonly path: NodeId | null; readonly map: ReadonlyMap<NodeId, WorkerLiveness> } | undefined = undefined
  /** A quiet worker: the first configuration version it saw without holding it, and when (see `receive`). */
  private behind: { readonly epoch: number; readonly counter: number; readonly sinceMs: number } | undefined = undefined
  /** The newest configuration version a record showed while this node held an older one; cleared once it holds it (see `audience`). */
  private newerSeen: { readonly epoch: number; readonly counter: number } | undefined = undefined
  /** Peers this joiner is connected to (met, not lost), at most DOORS_MAX; read only while it has no configuration. */
  private readonly doors = new Set<NodeId>()
  /** When this joiner last published to all, and the gap before the next time (joinerAudience). */
  private joinerTopicAtMs = -Infinity
  private joinerTopicGapMs = 0
  /** When a record last fell back to the topic for workers it could not reach (recordFallsBack). */
  private workersFallbackAtMs = -Infinity
  /** When this node last published a record (a worker under 'swim' waits workerRecordMinMs between two). */
  private lastPublishMs = -Infinity
  private addresses: readonly string[]
  private incarnation: number
  private seq = 0
  private status: SelfStatus = 'joining'
  private epoch: number
  private vote: NodeId | null
  private config: ClusterConfig | null
  private readonly peers = new Map<NodeId, Peer>()
  /**
   * Voters' addresses from the records of the leader this node follows (`learnVoters`), for voters
   * whose own records it may never hear ("Election traffic"); only voters of `config`.
   */
  private readonly voterAddresses = new Map<NodeId, readonly string[]>()
  private metrics: NodeMetrics = emptyMetrics()
  private preVote: { epoch: number; untilMs: number } | null = null
  /** The epoch this node is a candidate in; a leader that stepped down never wins its old epoch again. */
  private candidateEpoch: number | null = null
  private candidacyUntilMs = 0
  /** The record sequence number at the last configuration change; members travel in records for a while after it. */
  private configSeq = 0
  /** When this node, leading, last changed the configuration (admitJoiners paces admissions by it). */
  private configChangedMs = -Infinity
  /**
   * The configuration the leader changed from, until a majority of the new one holds it. Any
   * majority of it intersects any majority of the new one, so a lease echoed by it is as exclusive;
   * without it, admitting a member that has not echoed yet would make the lease lapse.
   */
  private previousConfig: ClusterConfig | null = null
  /** The pre-vote this node grants (a record shows one), and since when it grants it to that candidate. */
  private grant: { candidate: NodeId; epoch: number } | null = null
  private grantAtMs = -Infinity
  /** When this node last cast its vote of an epoch (for itself or another): rule 3's hold after a vote. */
  private votedAtMs = -Infinity
  private support: Support | null = null
  private leaderHeardMs: number
  /** The lease of the last new sequence of the leader this node follows, as it waits it out ("Stretched leases"). */
  private leaderLeaseMs: number
  /** Until when this node has promised, by echoes, not to grant or vote (rule 5; a restart assumes the longest promise). */
  private promiseEndMs: number
  /** What every member last got of this worker's records (newsFromWorker). */
  private toMembers: string | undefined
  /** What the other voters last heard of this follower (newsForVoters). */
  private toVoters: { readonly key: string; readonly log: string; readonly atMs: number } | undefined
  /** What the workers last got of this leader's records, and when (newsForWorkers). */
  private toWorkers: { key: string; atMs: number } | undefined
  /** Observed lag ("Lag" in the module doc): its last sample, decayed linearly since `lagAtMs`. */
  private lagMs = 0
  private lagAtMs = 0
  /**
   * The leader this node followed, whose connection closed after its last new lease sequence ("Lag":
   * no stall to wait out); kept through this node's own pre-vote and candidacy, which forget whom it
   * followed, until a new sequence comes.
   */
  private lostLeaderId: NodeId | undefined
  /** When `tick` last ran: a longer gap than a gossip interval is a stall of this node's own event loop. */
  private lastTickMs: number | undefined
  /**
   * Since when the next tick is expected, if later than `lastTickMs`: the time `nextTickMs` planned
   * it for, or when a planned pace ended; a tick is late (a stall) only by the gap past it.
   */
  private tickFromMs: number | undefined
  /** Whether `tickFromMs` is a planned tick (a calm role) rather than the end of one. */
  private tickPlanned = false
  private leading: Leading | null = null
  /** Why this node last stopped leading, for the driver's log. */
  private steppedDown: StepDownReason | undefined = undefined
  private echoesAtStepDown: VoterEcho[] | undefined = undefined
  private electionAtMs: number
  private nextPublishMs: number
  /** When this node started: a member never heard from has been silent since then, as far as it knows. */
  private readonly bootMs: number
  /** The end of this node's replicated log; null while it keeps none (it then compares as equal to any). */
  private log: LogPosition | null = null
  /**
   * The highest commit index of the replicated log this node has known (exact on the leader); null
   * while it keeps no replicated log, which switches the catch-up rules of "Log catch-up" off.
   */
  private commit: number | null = null
  /** The commit index when this leader applied the current configuration; 0 for one it inherited. */
  private commitAtConfig = 0
  /** Members' durably acknowledged log ends in the epoch this node leads (setLogMatches). */
  private matches: { readonly epoch: number; readonly byNode: ReadonlyMap<NodeId, number>; readonly commit: number } | undefined
  /** After a resignation this node does not campaign before this time. */
  private holdOffUntilMs = -Infinity
  private resigned: string | undefined = undefined
  private cluster: string | null
  /** Records ignored because they come from another cluster. */
  private foreign = 0
  private dirty = false
  private publishNow = false
  /** The (epoch, vote) last handed out to persist: what this node has promised, across restarts. */
  private promised: { epoch: number; vote: NodeId | null }

  constructor(init: ClusterCoreInit) {
    this.self = init.self
    this.options = { ...DEFAULT_CLUSTER_OPTIONS, ...init.options }
    this.random = init.random
    this.liveness = init.liveness
    if (this.options.membership === 'swim' && init.liveness === undefined) throw new InvalidArgumentError("membership 'swim' needs a liveness source (the SWIM core)")
    this.addresses = init.addresses
    const p = init.persisted
    this.incarnation = (p?.incarnation ?? 0) + 1
    this.epoch = p?.epoch ?? 0
    this.vote = p?.vote ?? null
    this.promised = { epoch: this.epoch, vote: this.vote }
    this.config = p?.config ?? null
    this.cluster = p?.clusterId ?? null
    // A restarted member may have promised support to a leader it no longer remembers: wait a lease,
    // as long as any leader may have granted ("Stretched leases").
    this.leaderHeardMs = p === undefined ? -Infinity : init.nowMs
    this.leaderLeaseMs = this.options.leaseMs
    this.promiseEndMs = p === undefined ? -Infinity : init.nowMs + LEASE_STRETCH_MAX * this.options.leaseMs * (1 + this.options.drift)
    if (this.config === null && init.founder) {
      this.config = { epoch: 0, counter: 1, members: [this.self], workers: [] }
      this.cluster = init.random.id()
    }
    if (this.isMember(this.self)) this.status = 'up'
    this.electionAtMs = init.nowMs
    this.bootMs = init.nowMs
    this.nextPublishMs = init.nowMs
    this.dirty = true
    this.publishNow = true
  }

  // ---- inputs ------------------------------------------------------------------------------------

  /** Advances time: periodic gossip, elections, lease upkeep, configuration changes. */
  tick(nowMs: number): void {
    const fromMs = Math.max(this.lastTickMs ?? -Infinity, this.tickFromMs ?? -Infinity)
    const stalled = this.lastTickMs !== undefined && nowMs - fromMs > this.options.gossipIntervalMs
    if (stalled) this.noteGap(nowMs - fromMs, nowMs, true)
    this.lastTickMs = nowMs
    this.tickFromMs = undefined
    this.tickPlanned = false
    if (nowMs >= this.nextPublishMs) this.publishNow = true
    if (this.behind !== undefined && nowMs - this.behind.sinceMs >= this.options.workerRecordMinMs) {
      this.behind = undefined
      if (this.liveLeaderKnown(nowMs)) this.publishNow = true
    }
    this.upkeepLeadership(nowMs)
    // After a stall the timer runs before the records that queued meanwhile (Node runs timers
    // before I/O): campaigning now would go by a leader's silence that is only ours. Not once the
    // leader's connection closed after its last sequence (`lost`): nothing of it can be queued, and
    // after a leader's death on a saturated host every tick was late (50 peers on two cores: each
    // voter's ticks 276-1,483 ms apart for 2-3 s, and the first pre-vote 1.8-1.9 s after the timeouts).
    if (!stalled || this.lostLeaderId !== undefined) this.campaign(nowMs)
    this.changeConfig(nowMs)
    this.forget(nowMs)
  }

  /** Takes in a record gossiped by another node. */
  receive(record: MemberRecord, nowMs: number): void {
    if (record.node === this.self) return
    if (record.clusterId !== null && this.cluster !== null && record.clusterId !== this.cluster) {
      this.foreign++
      return
    }
    let peer = this.peers.get(record.node)
    if (peer !== undefined && !newer(record, peer.record)) return
    const voter = this.isVoter(record.node)
    // Under SWIM a voter's records come every gossip interval only between the leader and the
    // voters that follow it; between followers only their news ("Election traffic").
    const voterPath = voter && (this.options.membership === 'gossip' || this.hearsPeriodically(record.node))
    if (peer === undefined) {
      const detector = this.newDetector(record)
      peer = { record, detector, lastHeardMs: nowMs, voterWhenHeard: voterPath, basis: undefined }
      this.peers.set(record.node, peer)
      this.forgetScan.earliestHeardMs = Math.min(this.forgetScan.earliestHeardMs, nowMs)
    }
    // Under SWIM a worker's records are sparse, and a voter's come every gossip interval only
    // between a leader and its followers: the first record on that path (the sender or this node
    // has just become a voter or the leader, or a follower follows a new one) starts a fresh
    // detector, and its last gap is no lag sample. A node that is not a voter samples lag from the
    // leader's records, which reach everyone.
    if (this.options.membership === 'swim' && voterPath && !peer.voterWhenHeard) peer.detector = this.newDetector(record)
    else if (peer.record.incarnation === record.incarnation && (voterPath || (voter && record.leaderSeq !== null && peer.record.leaderSeq !== null)))
      this.noteGap(nowMs - peer.lastHeardMs - (voterPath ? 0 : this.leaderSlackMs()), nowMs)
    peer.voterWhenHeard = voterPath
    this.noteEcho(peer.record === record ? undefined : peer.record, record, nowMs)
    peer.record = record
    peer.lastHeardMs = nowMs
    peer.detector.heartbeat(nowMs)
    peer.basis = undefined
    this.publishedPeers = undefined
    this.adoptConfig(record, nowMs)
    this.admitHeard(record.node, nowMs)
    // A quiet worker that sees a newer configuration without the lists says so in a record, so
    // that the leader repeats them (repeatConfigFor); else it would wait for its refresh. It waits
    // workerRecordMinMs for the lists first (tick): while members join, the configuration changes
    // every leader tick and its lists follow within a record or two, and saying so at each change
    // would make every worker publish, O(N) records a second on every node. It says so only while
    // it knows a live leader (tick): no other node's records reach a worker, so nobody else serves it.
    if (this.behind === undefined && this.quietWorker() && this.config !== null && record.config !== null && versionAfter(record.config, this.config))
      this.behind = { epoch: record.config.epoch, counter: record.config.counter, sinceMs: nowMs }
    if (this.config !== null && record.config !== null && versionAfter(record.config, this.newerSeen ?? this.config))
      this.newerSeen = { epoch: record.config.epoch, counter: record.config.counter }
    this.repeatConfigFor(record)
    this.adoptIdentity(record)
    this.followLeader(record, nowMs)
    this.learnVoters(record)
    this.answerCandidate(record, nowMs)
    this.countVotes(nowMs)
  }

  /** Starts a graceful leave: the node says so and the leader removes it from the configuration. */
  leave(): void {
    this.status = 'leaving'
    this.publishNow = true
  }

  /** Replaces the metrics sent in the next records. */
  setMetrics(metrics: NodeMetrics): void {
    this.metrics = metrics
  }

  setAddresses(addresses: readonly string[]): void {
    this.addresses = addresses
  }

  /**
   * Sets the end of this node's replicated log, carried by its next records for the up-to-date rule.
   * The caller sets it before a write that extends the log (so it may run ahead of what is durable,
   * which only makes this node stricter as a voter) and again after a cut or a failed write.
   */
  setLogPosition(position: LogPosition): void {
    this.log = checkLogPosition(position)
  }

  /**
   * Sets the commit index of this node's replicated log (one past the last committed entry it
   * knows; the leader's is exact). The core keeps the highest it was given. Setting it at all says
   * that the node keeps a replicated log, which turns on the catch-up rules of "Log catch-up".
   */
  setCommitIndex(index: number): void {
    if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`invalid commit index ${index}`)
    this.commit = Math.max(this.commit ?? 0, index)
  }

  /**
   * How far each member's log durably matches this leader's in `epoch` (from the replicator's
   * acknowledgements), for the catch-up rules; replaces what was set before. Only members that
   * acknowledged at least the epoch's first entry are listed (see "Log catch-up").
   */
  setLogMatches(epoch: number, byNode: ReadonlyMap<NodeId, number>): void {
    this.matches = { epoch, byNode, commit: this.commit ?? 0 }
  }

  /**
   * Gives up the lead now (if leading) and does not campaign for RESIGN_HOLD_OFF_LEASES leases, so
   * another voter can take over; used when this node cannot do a leader's work (its scheduler
   * cannot run). The reason shows in the view until this node leads again.
   */
  resign(reason: string, nowMs: number): void {
    this.resigned = reason
    this.holdOffUntilMs = nowMs + RESIGN_HOLD_OFF_LEASES * this.options.leaseMs
    this.preVote = null
    if (this.leading !== null) this.stepDown('resigned')
    this.candidateEpoch = null
    this.publishNow = true
  }

  // ---- outputs -----------------------------------------------------------------------------------

  /**
   * What to persist and the record to publish now; resets both. `inputs` is read only when a record
   * is due, for the load and addresses it carries (else the last ones set). A record is built
   * before the state is written and published after: its lease sequence counts from this earlier
   * time, which only shortens the lease.
   */
  takeReady(nowMs: number, inputs?: () => RecordInputs): Ready {
    // Rule 1 where the promise leaves the core: epochs never go back, and a vote once given in an
    // epoch is never moved to another candidate in it.
    assert(this.epoch >= this.promised.epoch, `epoch went back from ${this.promised.epoch} to ${this.epoch}`)
    assert(
      this.epoch > this.promised.epoch || this.promised.vote === null || this.vote === this.promised.vote,
      `vote of epoch ${this.epoch} moved from ${this.promised.vote} to ${this.vote}`,
    )
    // "Lapses": a leader leads its current epoch, with its own vote, until it steps down.
    assert(
      this.leading === null || (this.leading.epoch === this.epoch && this.vote === this.self),
      `a leader's epoch ${this.leading?.epoch} is not its current epoch, or its vote is not its own, in epoch ${this.epoch}`,
    )
    if (this.dirty) this.promised = { epoch: this.epoch, vote: this.vote }
    const quiet = this.quietWorker()
    // A worker under SWIM holds a state change back until workerRecordMinMs after its last record.
    const publish = this.publishNow && (!quiet || nowMs - this.lastPublishMs >= this.options.workerRecordMinMs)
    const persist = this.dirty ? { incarnation: this.incarnation, epoch: this.epoch, vote: this.vote, config: this.config, clusterId: this.cluster } : undefined
    this.dirty = false
    let record: MemberRecord | undefined
    if (publish) {
      this.publishNow = false
      this.lastPublishMs = nowMs
      this.nextPublishMs =
        nowMs +
        (quiet
          ? this.workerRefreshMs() * (1 - REFRESH_JITTER + 2 * REFRESH_JITTER * this.random.next())
          : this.quietJoiner()
            ? this.options.joinerRecordMs
            : this.options.gossipIntervalMs)
      if (inputs !== undefined) {
        const { metrics, addresses } = inputs()
        this.metrics = metrics
        this.addresses = addresses
      }
      record = this.record(nowMs)
    }
    const to = record === undefined ? undefined : this.audience(record, nowMs)
    return to === undefined ? { persist, publish: record } : { persist, publish: record, to }
  }

  /**
   * When `tick` next has work ("Tick pace" in the module doc), or undefined while it must run at the
   * driver's fast pace. Call it at the end of every step: it also tells `tick` when the next one is
   * due, so that a planned pause is not taken for a stall of this node's event loop.
   */
  nextTickMs(nowMs: number): number | undefined {
    const at = this.calmUntil(nowMs)
    if (at !== undefined) {
      this.tickFromMs = at
      this.tickPlanned = true
    } else if (this.tickPlanned) {
      this.tickFromMs = nowMs
      this.tickPlanned = false
    }
    return at
  }

  /** The next tick with work for the three calm roles (a lone leader, a quiet worker, a joiner under swim); undefined for the others. */
  private calmUntil(nowMs: number): number | undefined {
    const config = this.config
    // A joiner under 'swim' takes part in nothing timed but its records; a gossip interval at
    // most, for the dials the driver makes on ticks.
    if (this.quietJoiner()) return this.scanDue(Math.min(this.nextPublishMs, nowMs + this.options.gossipIntervalMs), nowMs)
    if (config === null || this.status !== 'up') return undefined
    if (this.leading !== null) {
      const alone = config.members.length === 1 && config.workers.length === 0 && this.peers.size === 0 && this.cluster !== null
      // Its lease rests on its own records alone, renewed by each (rule 5): nothing is due before the next.
      return alone && !this.publishNow && this.previousConfig === null && this.holdsLease(nowMs) ? this.nextPublishMs : undefined
    }
    if (!this.quietWorker()) return undefined
    let at = this.nextPublishMs
    if (this.publishNow) at = Math.min(at, this.lastPublishMs + this.options.workerRecordMinMs)
    if (this.behind !== undefined) at = Math.min(at, this.behind.sinceMs + this.options.workerRecordMinMs)
    // When the leader it follows would time out, so that the node hears of it (ClusterHandle.notify).
    if (this.support !== null && this.liveLeaderKnown(nowMs)) at = Math.min(at, this.leaderTimeoutAtMs(nowMs) + 1)
    return this.scanDue(at, nowMs)
  }

  /** `at`, or earlier when `forget` has a scan due. */
  private scanDue(at: number, nowMs: number): number {
    if (this.forgetScan.of !== this.config) return nowMs
    return Math.min(at, this.forgetScan.earliestHeardMs + FORGET_AFTER_MS + 1)
  }

  /**
   * Who needs this node's records ("Election traffic" in the module doc): under 'swim', a voter
   * that does not lead sends its echoes to the live leader it follows alone and its news (or all
   * of them while it knows no live leader) to the other voters and that leader too, and everyone
   * else (the leader, workers) to every node it knows of. Otherwise (joiners, 'gossip', a voter
   * that has seen a newer configuration than it holds), to all through the topic.
   */
  private audience(record: MemberRecord, nowMs: number): readonly NodeId[] | undefined {
    const config = this.config
    if (this.options.membership !== 'swim' || (this.newerSeen !== undefined && this.isVoter(this.self))) return undefined
    if (config === null || this.quietJoiner()) return this.joinerAudience(nowMs)
    if (this.leading !== null || !this.isVoter(this.self)) {
      const to = new Set([...config.members, ...config.workers, ...this.peers.keys()])
      to.delete(this.self)
      // Workers and joiners echo nothing: between news they hear the leader once per leaderToWorkersMs.
      if (this.leading !== null && !this.newsForWorkers(record, nowMs)) return config.members.filter((m) => m !== this.self)
      // A worker's refresh (nothing the others read of it changed) is for whoever may lead.
      if (this.quietWorker() && !this.newsFromWorker(record)) return this.electorate(config)
      return to.size === 0 ? undefined : [...to]
    }
    const leader = this.support?.leader
    if (leader !== undefined && leader !== this.self && this.liveLeaderKnown(nowMs) && !this.newsForVoters(record, nowMs)) return [leader]
    return this.electorate(config)
  }

  /**
   * Whether a follower's `record` says something the other voters read: its election state (epoch,
   * vote, pre-vote, grant), configuration, status, addresses, cluster or incarnation changed since
   * the last record they got, or it carries the member lists, or its log position moved and they
   * last got one leaderToWorkersMs ago or more (candidates rank each other by position, and a stale
   * one can put two followers first at once, to split the vote).
   * Otherwise it is an echo (a lease sequence, load), which only the leader reads: at 50 peers each
   * voter took in the others' echoes, 4 a second from each, for nothing while a leader held its lease.
   */
  private newsForVoters(record: MemberRecord, nowMs: number): boolean {
    const c = record.config
    const g = record.grant
    const key = `${record.incarnation}/${record.status}/${record.clusterId}/${record.addresses.join(',')}/${record.epoch}/${record.vote}/${record.preVote}/${g?.candidate}@${g?.epoch}/${c?.epoch}.${c?.counter}`
    const log = `${record.log?.epoch}.${record.log?.index}`
    const last = this.toVoters
    if (last !== undefined && last.key === key && c?.members === undefined && (last.log === log || nowMs - last.atMs < this.options.leaderToWorkersMs)) return false
    this.toVoters = { key, log, atMs: nowMs }
    return true
  }

  /** The voters of `config` and the leader this node follows, but this node. */
  private electorate(config: ClusterConfig): readonly NodeId[] | undefined {
    const to = config.members.filter((m) => m !== this.self)
    const leader = this.support?.leader
    if (leader !== undefined && leader !== this.self && !to.includes(leader)) to.push(leader)
    return to.length === 0 ? undefined : to
  }

  /**
   * Whether a quiet worker's `record` says something other members read: its status, addresses,
   * cluster or incarnation changed since the last one they got. Otherwise it is a refresh (job
   * types, durations, log position), which only the leader reads, and the voters that may become it;
   * at 50 peers every node took in all workers' refreshes, 5 records a second, for nothing.
   */
  private newsFromWorker(record: MemberRecord): boolean {
    const key = `${record.incarnation}/${record.status}/${record.clusterId}/${record.addresses.join(',')}`
    if (this.toMembers === key) return false
    this.toMembers = key
    return true
  }

  /**
   * A joiner's audience under 'swim' ("Joining" in the module doc): the live leader it follows;
   * without one, the peers it is connected to and the leader it last heard of, and all (undefined)
   * when it has none, or after joinerTopicMs, doubling each time up to JOINER_TOPIC_MAX_GAPS of it,
   * for a door that passes nothing on.
   */
  private joinerAudience(nowMs: number): readonly NodeId[] | undefined {
    const leader = this.support?.leader
    if (leader !== undefined && this.liveLeaderKnown(nowMs)) return [leader]
    const direct = new Set(this.doors)
    if (leader !== undefined && leader !== this.self) direct.add(leader)
    return this.joinerTopicDue(nowMs, direct.size > 0) ? undefined : [...direct]
  }

  /**
   * Whether a joiner's record goes to all now: always when it has nobody to send it to, else
   * joinerTopicMs after the last time, then twice as long each time up to JOINER_TOPIC_MAX_GAPS of
   * it. The one schedule for a joiner's records on the topic, whatever sent them there.
   */
  private joinerTopicDue(nowMs: number, hasTargets: boolean): boolean {
    if (hasTargets && nowMs - this.joinerTopicAtMs < this.joinerTopicGapMs) return false
    const first = this.options.joinerTopicMs
    this.joinerTopicGapMs = this.doors.size === 0 ? first : Math.min(Math.max(this.joinerTopicGapMs * 2, first), JOINER_TOPIC_MAX_GAPS * first)
    this.joinerTopicAtMs = nowMs
    return true
  }

  /**
   * Whether the leader's `record` goes to the workers too: when it differs from the last one they
   * got in what they read of it (epoch, configuration version, status, addresses, cluster id), or
   * leaderToWorkersMs after that one, or while this node has led for less than leaderToWorkersMs.
   * Workers echo no lease and vote in nothing, so the lease sequences and load in between are not
   * theirs to hear; they wait that much longer for their leader (leaderSlackMs). The member lists
   * are no news by themselves: the first record of a version carries them, and so do the repeats
   * the workers get each leaderToWorkersMs (CONFIG_REPEAT records last 5 s). Sending every repeat,
   * as before, cost the leader of 50 forming peers 4 records of 2 KB a second to each of them for
   * as long as members joined (the configuration changes with each admission).
   */
  private newsForWorkers(record: MemberRecord, nowMs: number): boolean {
    const c = record.config
    const key = `${record.epoch}/${c?.epoch}/${c?.counter}/${record.status}/${record.clusterId}/${record.addresses.join(',')}`
    const last = this.toWorkers
    // A new leader's records all go to the workers for its first leaderToWorkersMs: one lost first
    // record must not leave a worker on the old leader for a whole period (a failover is rare, so
    // this costs a few records each time).
    const young = this.leading !== null && nowMs - this.leading.sinceMs < this.options.leaderToWorkersMs
    if (!young && last !== undefined && last.key === key && nowMs - last.atMs < this.options.leaderToWorkersMs) return false
    this.toWorkers = { key, atMs: nowMs }
    return true
  }

  /**
   * How much longer than the election timeout this node waits for a new lease sequence of its
   * leader before it takes it for gone: under 'swim' a worker or a joiner hears the leader only
   * every leaderToWorkersMs while nothing changes (newsForWorkers), not every gossip interval.
   */
  private leaderSlackMs(): number {
    const paced = this.quietJoiner() || (this.options.membership === 'swim' && this.leading === null && this.workers().has(this.self))
    return paced ? Math.max(0, 2 * this.options.leaderToWorkersMs - this.options.gossipIntervalMs) : 0
  }

  /** The record to publish now; each call is a new record (and a new lease sequence while leading). */
  record(nowMs: number): MemberRecord {
    this.seq++
    let leaderSeq: number | null = null
    let leaseMs: number | undefined
    if (this.leading !== null) {
      leaderSeq = ++this.leading.seq
      leaseMs = this.grantMs(this.leading, nowMs)
      this.leading.sentAt.set(leaderSeq, { atMs: nowMs, leaseMs })
      this.pruneSentAt(nowMs)
    } else if (this.support !== null) leaseMs = this.leaderLeaseMs
    const c = this.config
    const lists = c !== null && this.carriesMembers()
    // Under 'gossip' every node hears the voters' own records, and the leader's every record carries
    // the lists: each would be in a format version the previous release cannot read.
    const voters = lists && this.leading !== null && this.options.membership === 'swim' ? this.votersHeard(c) : []
    return {
      node: this.self,
      incarnation: this.incarnation,
      seq: this.seq,
      status: this.status,
      addresses: this.addresses,
      metrics: this.metrics,
      epoch: this.epoch,
      vote: this.vote,
      preVote: this.preVote?.epoch ?? null,
      grant: this.grant,
      leaderSeq,
      support: this.support,
      // The configured lease goes unsaid: such records stay in the format the previous release reads.
      ...(leaseMs === undefined || leaseMs === this.options.leaseMs ? {} : { leaseMs }),
      log: this.log,
      clusterId: this.cluster,
      config: c === null ? null : lists ? { epoch: c.epoch, counter: c.counter, members: c.members, workers: c.workers } : { epoch: c.epoch, counter: c.counter },
      ...(voters.length === 0 ? {} : { voters }),
    }
  }

  /**
   * The voters of `config` but this node, with the addresses of their latest records here, for the
   * leader's records that carry the member lists ("Election traffic"); voters not heard are left out.
   */
  private votersHeard(config: ClusterConfig): Array<{ node: NodeId; addresses: readonly string[] }> {
    const voters: Array<{ node: NodeId; addresses: readonly string[] }> = []
    for (const node of config.members) {
      const addresses = node === this.self ? undefined : this.peers.get(node)?.record.addresses
      if (addresses !== undefined && addresses.length > 0) voters.push({ node, addresses })
    }
    return voters
  }

  /**
   * Whether the next record carries the member lists: for CONFIG_REPEAT records after a change (or a
   * peer heard behind), and always on the leader under 'gossip'. Under 'swim' the leader's lists
   * would cost every node O(N) bytes 4 times a second, so it repeats them like the others; a worker
   * never carries them (its records are few, and voters serve the nodes behind).
   */
  private carriesMembers(): boolean {
    if (this.quietWorker()) return false
    if (this.leading !== null && this.options.membership === 'gossip') return true
    return this.seq - this.configSeq <= CONFIG_REPEAT
  }

  /** True while this node leads and its lease holds: it may perform leader-only effects. */
  holdsLease(nowMs: number): boolean {
    return this.leaseUntil() > nowMs
  }

  /** Why this node last stopped leading, if it ever led. */
  get stepDownReason(): StepDownReason | undefined {
    return this.steppedDown
  }

  /** The epoch this node leads, if it leads, with or without its lease ("Lapses"). */
  get leaderEpoch(): number | null {
    return this.leading?.epoch ?? null
  }

  /** The cluster's identity, or null until this node founded or was admitted to one. */
  get clusterId(): string | null {
    return this.cluster
  }

  /** How many records were ignored because they came from another cluster. */
  get foreignRecords(): number {
    return this.foreign
  }

  /** The highest epoch this node has voted in or followed. */
  get currentEpoch(): number {
    return this.epoch
  }

  /** The configuration this node holds (voters and workers), as in `view`. */
  get currentConfig(): ClusterConfig | null {
    return this.config
  }

  /** The leader this node knows (itself while it leads), as in `view`, without building the members. */
  leader(nowMs: number): ClusterView['leader'] {
    return this.leading !== null
      ? { nodeId: this.self, epoch: this.leading.epoch }
      : this.support !== null && this.liveLeaderKnown(nowMs)
        ? { nodeId: this.support.leader, epoch: this.support.epoch }
        : null
  }

  /** True when `id` is among the members `view` lists: this node, the configuration, or a node heard from. */
  knows(id: NodeId): boolean {
    return id === this.self || this.peers.has(id) || this.isMember(id)
  }

  /** This node's view of the cluster (what a snapshot taken now shows at `nowMs`). */
  view(nowMs: number): ClusterView {
    return viewAt(this.snapshot(nowMs), nowMs)
  }

  /**
   * An immutable snapshot of the state the node's other components read (snapshot.ts), taken at
   * `nowMs` (the time a SWIM worker's new load version is first seen). The driver publishes one at
   * the end of every step; cheap unless a member changed since the last one.
   */
  snapshot(nowMs: number): ClusterSnapshot {
    if (this.publishedPeers === undefined) {
      const peers = new Map<NodeId, PeerBasis>()
      for (const [id, p] of this.peers) peers.set(id, (p.basis ??= { record: p.record, lastHeardMs: p.lastHeardMs, phi: p.detector.summary() }))
      this.publishedPeers = peers
    }
    return {
      self: this.self,
      status: this.status,
      incarnation: this.incarnation,
      addresses: this.addresses,
      metrics: this.metrics,
      clusterId: this.cluster,
      config: this.config,
      resigned: this.resigned,
      leadingEpoch: this.leading?.epoch ?? null,
      leaseUntilMs: this.leaseUntil(),
      follows: this.support === null ? null : { leader: this.support.leader, epoch: this.support.epoch },
      leaderHeardMs: this.leaderHeardMs,
      leaderLeaseMs: this.leaderLeaseMs,
      grantedLeaseMs: this.leading === null ? null : (this.leading.sentAt.get(this.leading.seq)?.leaseMs ?? null),
      promiseEndMs: this.promiseEndMs,
      leaderSlackMs: this.leaderSlackMs(),
      leaderLost: this.lostLeaderId !== undefined,
      lag: { ms: this.lagMs, atMs: this.lagAtMs },
      timing: this.options,
      peers: this.publishedPeers,
      liveness: this.livenessSnapshot(nowMs),
      bootMs: this.bootMs,
      foreignRecords: this.foreign,
    }
  }

  /**
   * The liveness of the workers (and of the voters, on a worker), read from the source again only
   * when its `changes` or the configuration moved: a voter takes a SWIM message every few
   * milliseconds, and rebuilding the map of every worker after each was 8% of an idle voter's CPU.
   */
  private livenessSnapshot(nowMs: number): ReadonlyMap<NodeId, WorkerLiveness> | undefined {
    const liveness = this.liveness
    if (liveness === undefined) return undefined
    const changes = liveness.changes
    const kept = this.publishedLiveness
    // Which voters SWIM decides moves with this node's leadership and the leader it follows.
    const path = this.leading !== null ? this.self : (this.support?.leader ?? null)
    if (kept !== undefined && changes !== undefined && kept.changes === changes && kept.of === this.config && kept.path === path) return kept.map
    const map = new Map<NodeId, WorkerLiveness>()
    const voters = (this.config?.members ?? []).filter((id) => this.swimDecides(id))
    for (const id of [...this.workers(), ...voters]) {
      const member = id === this.self ? undefined : liveness.member(id)
      if (member === undefined) continue
      const load = liveness.load(id)
      let loadSeenMs = nowMs
      if (load !== undefined) {
        const seen = this.loadSeen.get(id)
        if (seen === undefined || seen.version !== load.version) this.loadSeen.set(id, { version: load.version, atMs: nowMs })
        loadSeenMs = this.loadSeen.get(id)!.atMs
      }
      map.set(id, { status: member.status, load, loadSeenMs })
    }
    this.publishedLiveness = { of: this.config, changes: changes ?? NaN, path, map }
    return map
  }

  /**
   * Why this node looks cut off, or undefined: it has heard no record from any other node for
   * QUIET_WARNING_MS although it is joining (it needs the leader to admit it) or its configuration
   * lists other members. A founder alone hears nothing and is not warned about.
   */
  quiet(nowMs: number): string | undefined {
    let heardMs = this.bootMs
    for (const peer of this.peers.values()) heardMs = Math.max(heardMs, peer.lastHeardMs)
    const others = (this.config?.members.length ?? 0) + (this.config?.workers.length ?? 0) - (this.isMember(this.self) ? 1 : 0)
    return quietWarning(nowMs - heardMs, this.status === 'joining', others)
  }

  /**
   * Whether a record this node could not send point to point to `unreached` (no connection yet)
   * should go to all instead. Always for the leader seen up (but from a joiner, which the leader
   * dials, and not while its connection is lost: below); and when this node votes or leads
   * (elections and leases), for a voter seen up and for a voter it has never heard of: a node
   * learns another's addresses from its records (a voter's also from the leader's: learnVoters), so
   * two voters restarted without a connection between them, and no leader, would otherwise each see
   * the other down for ever (a voter seen down whose addresses are known is dialled instead, so a
   * dead one costs no topic traffic). For a joiner only on the leader, which must admit it. From a
   * joiner, on its own schedule of records to all (`joinerTopicDue`): the fallback to workers,
   * once per FALLBACK_TO_WORKERS_MS, sent each of 21 joiners waiting on a cluster that had lost its
   * leader to all every 2 s, 15 signed records a second that every node checked. Never
   * for a voter that does not lead, from a worker: every voter dials every worker
   * (src/cluster/dials.ts) and gets its records then, where otherwise each worker's refreshes would
   * go to all every FALLBACK_TO_WORKERS_MS until its voters have dialled it (tens of seconds at
   * 1,000 nodes). For other members seen up or never heard of (anyone's to the workers), at most
   * once per FALLBACK_TO_WORKERS_MS: they read those records for addresses (the mesh dials them)
   * and job types, and while a cluster of many forms, the members not yet connected are most of
   * them and every node would check and relay each record on the topic. A worker's news held back
   * by that limit goes again as its next record: over a partial mesh most members hear a worker's
   * addresses only that way (a 40-peer cluster left a member seeing 3 others not up for 90 s).
   */
  recordFallsBack(unreached: readonly NodeId[], nowMs: number): boolean {
    if (this.quietJoiner()) return this.joinerTopicDue(nowMs, true)
    let toWorkers = false
    const electing = this.isVoter(this.self) || this.leading !== null
    for (const id of unreached) {
      // A leader whose connection just closed (`lost`) is no reason to flood: a killed one stays up
      // in every view for about a second, and when a leader of 50 died, its voters' and workers'
      // records to it were 12 topic messages every node checked and relayed while the host was
      // saturated. Nor once this voter asks for pre-votes or votes, which forgets whom it followed:
      // a candidate's records to all made every worker vote (50 peers: 45 persisted votes and 225
      // records to the voters, 1.1 s into the election). A live one is redialled at once, and its
      // next record (new sequence) ends this.
      if (id === this.lostLeaderId) continue
      const state = this.memberState(id, nowMs)
      if (state === 'joining') {
        if (this.leading !== null) return true
      } else if (electing && this.isVoter(id) && !this.peers.has(id)) return true
      else if (state !== 'up' && (this.peers.has(id) || !this.isMember(id))) continue
      else if ((id === this.support?.leader && this.config !== null) || (electing && this.isVoter(id))) return true
      // A voter gets a worker's records once it dials the worker (every voter links to every worker, src/cluster/dials.ts).
      else if (!electing && this.isVoter(id)) continue
      else toWorkers = true
    }
    if (!toWorkers) return false
    if (nowMs - this.workersFallbackAtMs < FALLBACK_TO_WORKERS_MS) {
      // Not to all this time: a worker's news goes again with its next record, so that every member
      // hears it (its addresses are how a voter dials it, and how a node dials a member it holds dead).
      this.toMembers = undefined
      return false
    }
    this.workersFallbackAtMs = nowMs
    return true
  }

  /** How many members knownAddresses lists, without building it. */
  get knownCount(): number {
    let learned = 0
    for (const id of this.voterAddresses.keys()) if (!this.peers.has(id)) learned++
    return this.peers.size + learned
  }

  /**
   * Addresses of members this node has heard of, for the driver to dial, and of voters it has not
   * heard but its leader has (`learnVoters`): a voter's own record, when there is one, wins.
   */
  knownAddresses(): Array<{ node: NodeId; addresses: readonly string[] }> {
    const known = [...this.peers.values()].map((p) => ({ node: p.record.node, addresses: p.record.addresses }))
    for (const [node, addresses] of this.voterAddresses) if (!this.peers.has(node)) known.push({ node, addresses })
    return known
  }

  /** True once a leaving node is no longer a member, so it may stop. */
  departed(nowMs: number): boolean {
    if (this.status !== 'leaving') return false
    const voters = this.config?.members ?? []
    if (!this.isMember(this.self)) return true
    // Every other live voter is leaving too (the whole cluster stops): nobody is left to remove us.
    return voters.every((m) => m === this.self || !this.alive(m, nowMs) || this.peers.get(m)?.record.status === 'leaving')
  }

  // ---- membership ------------------------------------------------------------------------------

  /** What this node concludes about `id` now (this node itself: its own status). */
  memberState(id: NodeId, nowMs: number): MemberState {
    return id === this.self ? this.status : this.stateOf(id, nowMs)
  }

  private stateOf(id: NodeId, nowMs: number): MemberState {
    const peer = this.peers.get(id)
    const swim = this.swimStatus(id)
    if (swim !== undefined) {
      if (peer?.record.status === 'leaving' || swim === 'left') return 'leaving'
      return swim === 'alive' ? 'up' : swim === 'suspect' ? 'suspect' : 'down'
    }
    if (peer === undefined) return 'down'
    if (peer.record.status === 'leaving') return 'leaving'
    if (peer.detector.phi(nowMs) >= this.options.suspectPhi) return nowMs - peer.lastHeardMs > this.options.downAfterMs ? 'down' : 'suspect'
    return this.isMember(id) ? 'up' : 'joining'
  }

  /**
   * Drops long-silent nodes that are not members (departed members, joiners that gave up). Runs
   * every tick, so it scans the peers only when something can be due: the configuration changed
   * (members may have become non-members), or the earliest non-member's silence has run out (a
   * record only moves a peer's time later; a new peer lowers the bound in `receive`).
   */
  private forget(nowMs: number): void {
    if (this.forgetScan.of === this.config && nowMs - this.forgetScan.earliestHeardMs <= FORGET_AFTER_MS) return
    let earliestHeardMs = Infinity
    for (const [id, peer] of this.peers) {
      if (this.isMember(id)) continue
      if (nowMs - peer.lastHeardMs > FORGET_AFTER_MS) {
        this.peers.delete(id)
        this.publishedPeers = undefined
      } else earliestHeardMs = Math.min(earliestHeardMs, peer.lastHeardMs)
    }
    // Loads are noted only for workers of the configuration at the time, so only a change leaves stale ones.
    if (this.forgetScan.of !== this.config) for (const id of this.loadSeen.keys()) if (!this.swimDecides(id)) this.loadSeen.delete(id)
    this.forgetScan = { of: this.config, earliestHeardMs }
  }

  /**
   * The SWIM status of `id` when SWIM decides its state: membership 'swim', `swimDecides(id)`, and
   * `id` known to SWIM. Joiners, and voters on a voter, keep the record detector.
   */
  private swimStatus(id: NodeId): 'alive' | 'suspect' | 'dead' | 'left' | undefined {
    if (this.liveness === undefined || !this.swimDecides(id)) return undefined
    return this.liveness.member(id)?.status
  }

  /**
   * Under 'swim', the members whose state SWIM decides on this node: the workers, and the voters
   * whose records do not come here every gossip interval ("Election traffic"): on a node that is not
   * a voter all of them, on a follower all but its leader.
   */
  private swimDecides(id: NodeId): boolean {
    return this.workers().has(id) || (this.isVoter(id) && !this.hearsPeriodically(id))
  }

  /**
   * Under 'swim', whether voter `id`'s records come to this node every gossip interval: this node is
   * a voter and leads (every voter echoes to it), or `id` is the leader it follows.
   */
  private hearsPeriodically(id: NodeId): boolean {
    return this.isVoter(this.self) && (this.leading !== null || id === this.support?.leader)
  }

  private workers(): ReadonlySet<NodeId> {
    if (this.workerSet.of !== this.config) this.workerSet = { of: this.config, ids: new Set(this.config?.workers ?? []) }
    return this.workerSet.ids
  }

  /**
   * True for a worker under SWIM: admitted, up, neither a voter nor leading. Its records count for
   * no quorum and no lease, so it publishes only on changes of its own state and a slow refresh.
   */
  private quietWorker(): boolean {
    return this.options.membership === 'swim' && this.status === 'up' && this.leading === null && this.workers().has(this.self)
  }

  /** A quiet worker's refresh period: workerRefreshMs, longer once all workers together would exceed workerRecordsPerS. */
  private workerRefreshMs(): number {
    return Math.max(this.options.workerRefreshMs, (this.workers().size / this.options.workerRecordsPerS) * 1000)
  }

  /** A detector for the sender of `record`: a joiner under 'swim' publishes every joinerRecordMs, everyone else every gossip interval. */
  private newDetector(record: MemberRecord): PhiDetector {
    const joiner = this.options.membership === 'swim' && record.status === 'joining'
    const intervalMs = joiner ? this.options.joinerRecordMs : this.options.gossipIntervalMs
    return new PhiDetector(intervalMs, intervalMs / 2)
  }

  /** True for admitted members: voters and workers (the workers through their set: called per peer, per tick). */
  private isMember(id: NodeId): boolean {
    return this.config !== null && (this.config.members.includes(id) || this.workers().has(id))
  }

  /**
   * Whether `id` counts as live for campaigns, rankings, grants and demotions. A voter whose state
   * SWIM decides here (another follower, on a follower) counts while merely suspect: a suspicion is
   * a question SWIM is still asking, and in the seconds after a leader's death a saturated host
   * suspects busy members, which must not stop the followers from electing one of themselves.
   */
  private alive(id: NodeId, nowMs: number): boolean {
    if (id === this.self) return true
    const state = this.stateOf(id, nowMs)
    return state === 'up' || state === 'joining' || (state === 'suspect' && this.isVoter(id) && this.swimStatus(id) !== undefined)
  }

  private quorum(config: ClusterConfig): number {
    return Math.floor(config.members.length / 2) + 1
  }

  private adoptConfig(record: MemberRecord, nowMs: number): void {
    const offered = record.config
    if (offered?.members === undefined) return
    const previous = this.config
    if (previous !== null && !versionAfter(offered, previous)) return
    const wasQuiet = this.quietWorker()
    const wasVoter = this.isVoter(this.self)
    const workersBefore = this.workers()
    // Records are never changed once made, so the lists are shared, not copied (O(N) per node per change).
    this.config = { epoch: offered.epoch, counter: offered.counter, members: offered.members, workers: offered.workers ?? [] }
    this.dropFormerVoters()
    this.admitToLiveness(previous, workersBefore, nowMs)
    if (this.behind !== undefined && versionAtLeast(this.config, this.behind)) this.behind = undefined
    if (this.newerSeen !== undefined && versionAtLeast(this.config, this.newerSeen)) this.newerSeen = undefined
    // No longer on the voters' path: voters' next records here, if this node is made a voter again, start afresh.
    if (this.options.membership === 'swim' && wasVoter && !this.isVoter(this.self)) for (const p of this.peers.values()) p.voterWhenHeard = false
    this.configSeq = this.seq
    this.dirty = true
    if (this.status === 'joining' && this.isMember(this.self)) this.status = 'up'
    // Removed while away (by hand, or replaced and then removed): ask to be admitted again.
    else if (this.status === 'up' && !this.isMember(this.self)) this.status = 'joining'
    // A worker under 'swim' that stays one has nothing new to say: its record counts for no quorum
    // and its version for no change (voters serve the lists to whoever shows an older one). While
    // members join, the configuration changes every leader tick, and announcing each would make
    // every worker publish to all: O(N) records a second on every node.
    if (!(wasQuiet && this.quietWorker())) this.publishNow = true
  }

  /**
   * Under 'swim', tells the liveness source of the workers the configuration now lists that it did
   * not (`before`: the workers of `previous`), and of the other voters, so that SWIM knows every
   * member whose state it decides here even when a join update did not reach this node. Not the
   * workers of a first configuration: a node that just got one learned SWIM's members from its
   * join, and a listed worker SWIM has already forgotten is dead.
   */
  private admitToLiveness(previous: ClusterConfig | null, before: ReadonlySet<NodeId>, nowMs: number): void {
    if (this.liveness?.admit === undefined) return
    // SWIM decides the states of the voters this node does not hear every gossip interval (all of
    // them on a non-voter, all but the leader on a follower), and their records do not come to
    // correct a join update it missed: hand it the few voters, on every configuration.
    for (const id of this.config!.members) if (id !== this.self) this.liveness.admit(id, nowMs)
    if (previous === null) {
      // A first configuration's workers are not new to it, but some joined SWIM after this node's
      // join and their updates were crowded out: hand SWIM those whose records it has heard.
      for (const id of this.config!.workers) this.admitHeard(id, nowMs)
      return
    }
    for (const id of this.config!.workers) if (!before.has(id) && !previous.members.includes(id)) this.liveness.admit(id, nowMs)
  }

  /**
   * Hands SWIM a member whose state it decides here and whose record this node has heard but SWIM
   * does not know. At 1,000 nodes joining within seconds, join updates are crowded out of full
   * piggybacks and a member may stay unknown (so 'down') until its probe walk reaches this node,
   * up to N protocol periods; its own record is evidence that it lives, which SWIM then checks
   * with a probe within one walk. Only a record heard within FORGET_AFTER_MS counts: a dead member
   * SWIM has forgotten sends none, so it is not revived.
   */
  private admitHeard(id: NodeId, nowMs: number): void {
    const liveness = this.liveness
    const peer = this.peers.get(id)
    if (liveness?.admit === undefined || peer === undefined || nowMs - peer.lastHeardMs > FORGET_AFTER_MS) return
    if (!this.swimDecides(id) || liveness.member(id) !== undefined) return
    liveness.admit(id, nowMs)
  }

  /**
   * A peer whose record shows an older configuration than ours missed the records that carried
   * the members: send them again in our next CONFIG_REPEAT records. Without it, a voter that lost
   * those records could never catch up while nobody leads (only a leader repeats them always), and
   * with two voters left (one with the newer configuration, the other with the longer log) each
   * refuses the other for ever. Spreading a configuration only adds holders, so safety is unchanged.
   */
  private repeatConfigFor(record: MemberRecord): void {
    if (this.config === null || this.seq - this.configSeq <= CONFIG_REPEAT) return
    // Under 'swim' the leader no longer carries the lists in every record, so a member that lost its
    // configuration (a wiped data dir: it says it has none) is served like one that is behind.
    const behind = record.config === null ? this.options.membership === 'swim' && this.isMember(record.node) : versionAfter(this.config, record.config)
    if (behind) this.configSeq = this.seq
  }

  /**
   * A node without an identity takes it from the record that admits it (its configuration lists
   * this node) or, in a cluster named after it formed, from the leader of its configuration.
   */
  private adoptIdentity(record: MemberRecord): void {
    if (this.cluster !== null || record.clusterId === null) return
    const admits = record.config?.members?.includes(this.self) === true || record.config?.workers?.includes(this.self) === true
    const leads = record.leaderSeq !== null && this.isVoter(record.node) && this.isVoter(this.self)
    if (!admits && !leads) return
    this.cluster = record.clusterId
    this.dirty = true
    this.publishNow = true
  }

  /**
   * The leader changes the configuration one step at a time, each after the last is held by a
   * majority of the voters (see "Membership" above for the order of steps and why each is safe).
   */
  private changeConfig(nowMs: number): void {
    const config = this.config
    if (config === null || this.leading === null || !this.changeAllowed(config, nowMs)) return
    if (this.cluster === null) {
      // A cluster formed before identities existed: its leader names it, and members adopt the name.
      this.cluster = this.random.id()
      this.dirty = true
      this.publishNow = true
    }
    this.previousConfig = null
    const next = this.nextConfig(config, nowMs)
    if (next !== undefined) this.applyConfig(config, next.members, next.workers, nowMs)
  }

  /**
   * True while this node leads with a lease and its configuration is held by a majority of voters;
   * with a replicated log, a majority of voters must also hold every entry committed before it
   * was applied (see "Log catch-up").
   */
  private changeAllowed(config: ClusterConfig, nowMs: number): boolean {
    if (this.leading === null || !this.holdsLease(nowMs)) return false
    const holding = config.members.filter((m) => m === this.self || versionAtLeast(this.peers.get(m)?.record.config ?? null, config)).length
    if (holding < this.quorum(config)) return false
    return this.commit === null || config.members.filter((m) => this.holdsLog(m, this.commitAtConfig)).length >= this.quorum(config)
  }

  /**
   * True when `id` acknowledged this leader's log durably up to `index` in this epoch: by log
   * matching it then holds this leader's log up to there (see "Log catch-up").
   */
  private holdsLog(id: NodeId, index: number): boolean {
    if (id === this.self) return true
    const matches = this.matches
    const end = matches !== undefined && this.leading !== null && matches.epoch === this.leading.epoch ? matches.byNode.get(id) : undefined
    return end !== undefined && end >= index
  }

  /** True when `id` may become a voter: it holds every entry committed when the acknowledgements were reported (always, without a replicated log). */
  private caughtUp(id: NodeId): boolean {
    return this.commit === null || this.holdsLog(id, this.matches?.commit ?? Infinity)
  }

  private applyConfig(config: ClusterConfig, members: readonly NodeId[], workers: readonly NodeId[], nowMs: number): void {
    const epoch = this.leading!.epoch
    const counter = config.epoch === epoch ? config.counter + 1 : 1
    // The single-server rule: the quorum sets of consecutive configurations differ by one voter at most.
    const changed = members.filter((m) => !config.members.includes(m)).length + config.members.filter((m) => !members.includes(m)).length
    assert(changed <= 1, `configuration change of ${changed} voters at once: ${config.members.join(',')} -> ${members.join(',')}`)
    this.previousConfig = config
    this.commitAtConfig = this.commit ?? 0
    const workersBefore = this.workers()
    this.config = { epoch, counter, members: [...members], workers: [...workers] }
    this.dropFormerVoters()
    this.admitToLiveness(config, workersBefore, nowMs)
    this.configSeq = this.seq
    this.configChangedMs = nowMs
    this.dirty = true
    this.publishNow = true
    if (!members.includes(this.self)) this.stepDown('removed')
  }

  /**
   * The next configuration the leader moves to, if any; at most one voter added or removed. Live
   * joiners ride along as workers with whatever change steps 1-5 make ("Membership: voters and
   * workers"): workers count for no quorum, and each change waits for the previous one to be held
   * by a majority, so on a saturated host (50 peers on two cores) 33 joiners waited 10-20 s behind
   * the four promotions that grow the voters to five.
   */
  private nextConfig(config: ClusterConfig, nowMs: number): { members: NodeId[]; workers: NodeId[] } | undefined {
    const change = this.nextVoterChange(config, nowMs)
    if (change === undefined) return this.admitJoiners(config, nowMs)
    const joiners = this.liveJoiners(nowMs)
    return joiners.length === 0 ? change : { members: change.members, workers: [...change.workers, ...joiners] }
  }

  /** Live joiners: heard joining, not in the configuration. */
  private liveJoiners(nowMs: number): NodeId[] {
    return [...this.peers.values()].filter((p) => p.record.status === 'joining' && !this.isMember(p.record.node) && this.alive(p.record.node, nowMs)).map((p) => p.record.node)
  }

  /** Steps 1-5 of the leader's changes: leaving members, dead voters replaced, the voter count kept at the target. */
  private nextVoterChange(config: ClusterConfig, nowMs: number): { members: NodeId[]; workers: NodeId[] } | undefined {
    const { members, workers } = config
    const leaving = (m: NodeId): boolean => (m === this.self ? this.status === 'leaving' : this.peers.get(m)?.record.status === 'leaving')
    const without = (list: readonly NodeId[], x: NodeId): NodeId[] => list.filter((m) => m !== x)
    // 1. Leaving voters, others first: a leader that removes itself steps down, and its successor needs their votes.
    const leaver = members.find((m) => m !== this.self && leaving(m)) ?? (leaving(this.self) ? this.self : undefined)
    if (leaver !== undefined && members.length > 1) return { members: without(members, leaver), workers: [...workers] }
    // 2. Leaving workers, all at once: the quorum set does not change.
    if (workers.some(leaving)) return { members: [...members], workers: workers.filter((w) => !leaving(w)) }
    const target = this.targetVoters(config)
    const replacement = this.bestWorker(workers, nowMs)
    // 3. A voter silent for voterDownMs, with a live worker to take its place: it becomes a worker;
    //    step 4 then promotes the replacement.
    if (replacement !== undefined) {
      const dead = members.find((m) => m !== this.self && this.stateOf(m, nowMs) === 'down' && nowMs - (this.peers.get(m)?.lastHeardMs ?? this.bootMs) > this.options.voterDownMs)
      if (dead !== undefined) return { members: without(members, dead), workers: [...workers, dead] }
    }
    // 4. Fewer voters than the target: promote the live worker with the most up-to-date log.
    if (members.length < target && replacement !== undefined) return { members: [...members, replacement], workers: without(workers, replacement) }
    // 5. More voters than the target: demote one, a down one first, if the rest keep a live majority.
    if (members.length > target) {
      const demoted = this.demotable(members, nowMs)
      if (demoted !== undefined) return { members: without(members, demoted), workers: [...workers, demoted] }
    }
    return undefined
  }

  /**
   * Step 6, when steps 1-5 have nothing to do: live joiners are admitted, one straight as a voter
   * while below the target (a young cluster must not depend on its founder alone for longer than it
   * takes to admit; the others wait for it, as workers they would need step 4 to promote them, and
   * 3 peers formed with 2 voters, which the loss of one left without a quorum), else all as workers.
   * A joiner whose log has not caught up comes in as a worker, gets the log as a learner, and is
   * promoted by step 4 once it holds every committed entry. Workers come in at most once per
   * ADMISSION_GAP_MS after the previous change, all joiners heard by then together.
   */
  private admitJoiners(config: ClusterConfig, nowMs: number): { members: NodeId[]; workers: NodeId[] } | undefined {
    const { members, workers } = config
    const target = this.targetVoters(config)
    const joiners = this.liveJoiners(nowMs)
    const ready = joiners.find((j) => this.caughtUp(j))
    if (ready !== undefined && members.length < target) return { members: [...members, ready], workers: [...workers] }
    if (joiners.length > 0 && nowMs - this.configChangedMs >= ADMISSION_GAP_MS) return { members: [...members], workers: [...workers, ...joiners] }
    return undefined
  }

  /** The voters the leader aims for (src/cluster/voters.ts, shared with the replicator's learners). */
  private targetVoters(config: ClusterConfig): number {
    return voterTarget(config, this.options.voters)
  }

  /**
   * The live worker (it says it is up, so it holds the configuration) whose log holds every
   * committed entry, the most up-to-date first; oldest first on ties.
   */
  private bestWorker(workers: readonly NodeId[], nowMs: number): NodeId | undefined {
    const live = workers.filter((w) => this.stateOf(w, nowMs) === 'up' && this.peers.get(w)?.record.status === 'up' && this.caughtUp(w))
    live.sort((a, b) => compareKnownLogs(this.peers.get(b)!.record.log, this.peers.get(a)!.record.log))
    return live[0]
  }

  /** A voter other than this node whose demotion leaves a live majority: down ones first, then the shortest log, then the newest. */
  private demotable(members: readonly NodeId[], nowMs: number): NodeId | undefined {
    const live = members.filter((m) => this.alive(m, nowMs))
    const order = members.filter((m) => m !== this.self).reverse()
    order.sort(
      (a, b) => Number(this.alive(a, nowMs)) - Number(this.alive(b, nowMs)) || compareKnownLogs(this.peers.get(a)?.record.log ?? null, this.peers.get(b)?.record.log ?? null),
    )
    const pick = order[0]
    if (pick === undefined) return undefined
    const liveAfter = live.filter((m) => m !== pick).length
    return liveAfter >= Math.floor((members.length - 1) / 2) + 1 ? pick : undefined
  }

  /**
   * Removes a member that is down, by hand (an operator who knows it will not come back). Only the
   * leader does it, as one configuration change under the same rules as the automatic ones.
   */
  removeMember(id: NodeId, nowMs: number): RemovalRefusal | undefined {
    const config = this.config
    if (config === null || this.leading === null || !this.holdsLease(nowMs)) return 'not-leader'
    if (id === this.self) return 'self'
    if (!this.isMember(id)) return 'not-member'
    if (this.stateOf(id, nowMs) !== 'down') return 'not-down'
    if (!this.changeAllowed(config, nowMs)) return 'busy'
    this.previousConfig = null
    this.applyConfig(
      config,
      config.members.filter((m) => m !== id),
      config.workers.filter((w) => w !== id),
      nowMs,
    )
    return undefined
  }

  // ---- election ----------------------------------------------------------------------------------

  /** True while a leader is known to be alive: ours holds its lease, or we heard our leader recently. */
  private liveLeaderKnown(nowMs: number): boolean {
    if (this.leading !== null) return nowMs - this.quorumHeardMs(this.leading, nowMs) <= this.quorumPatienceMs(this.leading, nowMs)
    return nowMs <= this.leaderTimeoutAtMs(nowMs)
  }

  /** When this follower stops waiting for its leader: its election timeout after the last new sequence, and never before its promises end. */
  private leaderTimeoutAtMs(nowMs: number): number {
    return Math.max(this.leaderHeardMs + this.electionTimeoutMs(nowMs) + this.leaderSlackMs(), this.promiseEndMs)
  }

  /**
   * How long a follower waits after the last new lease sequence of its leader before it grants,
   * votes or campaigns: at least that sequence's lease·(1+drift) (rule 5), plus the observed lag.
   */
  private electionTimeoutMs(nowMs: number): number {
    return electionTimeoutMs(this.leaderLeaseMs, this.options.drift, this.lostLeaderId !== undefined ? 0 : this.lag(nowMs))
  }

  /**
   * The network closed its connection to `id`. If that is the leader this node follows, silent
   * since its last lease sequence, it is not lagging: a process that stalls keeps its connections
   * (peers close a silent one only after the transport's idle timeout, 45 s, far beyond the lag's
   * cap), a killed one closes them at once. So the wait for it drops the lag ("Lag") and stays
   * leaseMs·(1+drift) from its last sequence: rule 5 holds whatever the connection says, and a
   * record with a new sequence (a reconnection) restores the lag.
   */
  lost(id: NodeId): void {
    if (id !== this.self && this.leading === null && this.support?.leader === id) this.lostLeaderId = id
    this.doors.delete(id)
  }

  /** A connection to `id` opened: while this node joins, its records go there ("Joining"). */
  met(id: NodeId): void {
    if (id !== this.self && this.config === null && this.doors.size < DOORS_MAX) this.doors.add(id)
  }

  /**
   * A round of pre-votes or votes: the candidate's record out, the voters' answers back. Each leg
   * may wait out a lagging event loop, so the round grows by twice the observed lag.
   */
  private roundMs(nowMs: number): number {
    return 2 * this.options.gossipIntervalMs + 100 + 2 * this.lag(nowMs)
  }

  /**
   * Takes the gap between two records of one voter's incarnation, or between two ticks of this
   * node. Records are due every gossipIntervalMs and ticks more often, so anything beyond a gossip
   * interval was spent in a paused or overloaded event loop (the sender's or ours) or in the
   * network. A peer's gap longer than downAfterMs is a failure, not lag; our own is lag whatever
   * its length (lag() caps it).
   */
  private noteGap(gapMs: number, nowMs: number, own = false): void {
    if (gapMs > this.options.downAfterMs && !own) return
    const sample = gapMs - this.options.gossipIntervalMs
    if (sample > this.lag(nowMs)) {
      this.lagMs = sample
      this.lagAtMs = nowMs
    }
  }

  /** The observed lag now: the largest recent sample, forgotten at LAG_DECAY per ms, at most LAG_MAX_LEASES leases. */
  lag(nowMs: number): number {
    return lagAt(this.lagMs, this.lagAtMs, this.options.leaseMs, nowMs)
  }

  private isVoter(id: NodeId): boolean {
    return this.config?.members.includes(id) === true
  }

  private campaign(nowMs: number): void {
    const config = this.config
    if (config === null || this.status !== 'up' || !this.isVoter(this.self) || this.leading !== null || nowMs < this.holdOffUntilMs) return
    if (this.preVote !== null) {
      if (nowMs < this.preVote.untilMs) return
      this.preVote = null
      this.electionAtMs = nowMs + this.random.next() * 2 * this.options.gossipIntervalMs
    }
    if (this.candidateEpoch === this.epoch && nowMs < this.candidacyUntilMs) return
    if (this.liveLeaderKnown(nowMs)) return
    if (this.votedRecently(nowMs)) return
    const earliest = Math.max(this.leaderHeardMs + this.electionTimeoutMs(nowMs), this.promiseEndMs) + this.rank(nowMs) * this.options.candidateStaggerMs
    if (nowMs < Math.max(this.electionAtMs, earliest)) return
    if (config.members.filter((m) => this.alive(m, nowMs)).length < this.quorum(config)) return
    this.preVote = { epoch: this.epoch + 1, untilMs: nowMs + this.roundMs(nowMs) }
    this.publishNow = true
    this.countVotes(nowMs)
  }

  /**
   * Position among live voters, the most up-to-date log first and then configuration order: with
   * equal logs the oldest live member has rank 0. A candidate whose log is behind would be refused
   * anyway, so it goes after those that can win. The leader whose connection closed and whose lease
   * this node has waited out is not counted: killed, it stays up in the views for a while (SWIM or
   * the record detector), and its log, the longest, put every candidate one stagger later.
   */
  private rank(nowMs: number): number {
    const logOf = (m: NodeId): LogPosition | null => (m === this.self ? this.log : (this.peers.get(m)?.record.log ?? null))
    const gone = this.lostLeaderId
    const live = (this.config?.members ?? []).filter((m) => m !== gone && this.alive(m, nowMs))
    live.sort((a, b) => compareLogs(logOf(b), logOf(a)))
    const i = live.indexOf(this.self)
    return i === -1 ? live.length : i
  }

  private answerCandidate(record: MemberRecord, nowMs: number): void {
    const candidate = record.node
    if (!this.isVoter(this.self) || !this.isVoter(candidate) || this.liveLeaderKnown(nowMs)) return
    if (this.config !== null && record.config !== null && versionAfter(this.config, record.config)) return
    // Raft's up-to-date rule: a leader must hold every entry a majority holds, so a voter supports
    // only candidates whose log is at least as long (by epoch, then index) as its own.
    if (compareLogs(record.log, this.log) < 0) return
    if (record.preVote !== null && record.preVote > this.epoch && (this.vote === candidate || !this.votedRecently(nowMs))) {
      if (
        this.grant === null ||
        this.grant.epoch < record.preVote ||
        (this.grant.epoch === record.preVote &&
          this.grant.candidate !== candidate &&
          (!this.alive(this.grant.candidate, nowMs) || nowMs - this.grantAtMs > this.grantHoldMs(nowMs)))
      ) {
        this.grant = { candidate, epoch: record.preVote }
        this.grantAtMs = nowMs
        this.publishNow = true
      }
    }
    if (record.vote === candidate && record.leaderSeq === null && record.epoch > this.epoch) {
      this.epoch = record.epoch
      this.vote = candidate
      this.votedAtMs = nowMs
      this.support = null
      this.dirty = true
      this.publishNow = true
    }
  }

  /**
   * Whether this node cast its vote of the current epoch less than grantHoldMs ago: the candidate
   * it voted for may have won, and its first lease sequence may not have arrived yet. Until then the
   * node neither campaigns for the next epoch nor grants another candidate a pre-vote for it (Raft
   * restarts the election timer on a vote). Without it, a voter that voted and had heard no leader
   * since the dead one (its election timeout long run out) asked for the next epoch at once, the
   * others granted it for the same reason, and the winner, elected 100 ms before, stepped down
   * (50 peers on one host, 2026-11-30: 8 of 13 failovers split so, some more than once; none of 16
   * with this rule). Liveness only: pre-votes bind nothing.
   */
  private votedRecently(nowMs: number): boolean {
    return this.vote !== null && nowMs - this.votedAtMs < this.grantHoldMs(nowMs)
  }

  /**
   * How long a pre-vote grant binds this node to its candidate: the candidate's pre-vote round
   * (which grows with the observed lag) and one gossip interval more. A candidate that does not move to its epoch in that time has not
   * heard enough grants (it may hear nobody, over a one-way cut), so the grant may go to another;
   * else the two voters that hear each other would refuse each other for ever in its favour.
   */
  private grantHoldMs(nowMs: number): number {
    return this.roundMs(nowMs) + this.options.gossipIntervalMs
  }

  private countVotes(nowMs: number): void {
    const config = this.config
    if (config === null || this.leading !== null) return
    const members = config.members
    if (this.preVote !== null) {
      const p = this.preVote.epoch
      const grants = members.filter((m) => m === this.self || (this.peers.get(m)?.record.grant?.candidate === this.self && this.peers.get(m)?.record.grant?.epoch === p)).length
      if (grants >= this.quorum(config) && p > this.epoch) {
        this.preVote = null
        this.epoch = p
        this.vote = this.self
        this.votedAtMs = nowMs
        this.candidateEpoch = p
        this.support = null
        this.candidacyUntilMs = nowMs + this.roundMs(nowMs)
        this.dirty = true
        this.publishNow = true
      }
    }
    // A configuration made in our epoch means another node leads it: votes counted against it
    // (voters that node added) could make a second leader of the same epoch.
    if (this.candidateEpoch !== this.epoch || config.epoch >= this.epoch) return
    const votes = members.filter((m) => m === this.self || (this.peers.get(m)?.record.epoch === this.epoch && this.peers.get(m)?.record.vote === this.self)).length
    if (votes < this.quorum(config)) return
    // Rule 4: a leader holds its own vote of the epoch it leads (persisted by the takeReady that follows).
    assert(this.vote === this.self, `leading epoch ${this.epoch} without its own vote (vote: ${this.vote})`)
    this.leading = { epoch: this.epoch, seq: 0, sentAt: new Map(), rtt: new Map(), lastLeaseMs: nowMs, echoAdvancedMs: new Map(), sinceMs: nowMs }
    // A pre-vote for the next epoch, asked after the candidacy's window ran out while these votes
    // were on the way, is over: kept, every record of this leader asked for it for as long as it
    // led (50 peers on a saturated host: a leader of epoch 4 asking for epoch 5 until it died).
    this.preVote = null
    this.commitAtConfig = 0
    this.resigned = undefined
    this.candidateEpoch = null
    this.support = { leader: this.self, epoch: this.epoch, seq: 0 }
    this.publishNow = true
  }

  private followLeader(record: MemberRecord, nowMs: number): void {
    if (this.leading !== null && record.epoch > this.leading.epoch && this.isVoter(record.node)) this.stepDown('newer-epoch')
    // Our leader says it no longer leads (it stepped down or restarted): it holds no lease, so there
    // is nothing to wait out before electing another. Records are ordered, so this is not stale.
    if (record.leaderSeq === null && this.support?.leader === record.node && this.leading === null) {
      this.leaderHeardMs = -Infinity
      this.promiseEndMs = -Infinity
    }
    if (record.leaderSeq === null || record.epoch < this.epoch || this.leading !== null) return
    if (record.epoch > this.epoch) {
      this.epoch = record.epoch
      this.vote = null
      this.dirty = true
    }
    // Our epoch has its leader: a candidacy in it is over (Raft's candidate that hears a leader of its term).
    if (this.candidateEpoch === record.epoch) this.candidateEpoch = null
    const before = this.support
    if (before !== null && before.leader === record.node && before.epoch === record.epoch && record.leaderSeq <= before.seq) return
    this.support = { leader: record.node, epoch: record.epoch, seq: record.leaderSeq }
    this.leaderHeardMs = nowMs
    this.leaderLeaseMs = clamp(record.leaseMs ?? this.options.leaseMs, this.options.leaseMs, LEASE_STRETCH_MAX * this.options.leaseMs)
    this.promiseEndMs = Math.max(this.promiseEndMs, nowMs + this.leaderLeaseMs * (1 + this.options.drift))
    this.lostLeaderId = undefined
    this.preVote = null
    // Echo at once: the leader's lease runs from when it sent this sequence, and waiting for our next
    // periodic record would spend up to a gossip interval of it. It replaces that record (takeReady
    // restarts the interval), so a follower still publishes about once per leader record. A quiet
    // worker's echo counts for no lease (only voters' do), so it does not answer at all.
    if (!this.quietWorker() && !this.quietJoiner()) this.publishNow = true
  }

  /**
   * Keeps the voters' addresses that `record` carries ("Election traffic") if it comes from the
   * leader this node follows (followLeader has run), whose configuration it takes. Not from any
   * node that says it leads: one deposed in a partition announces until its check quorum, and the
   * addresses it lists would stay until the leader's lists next come. Only for voters of this
   * node's configuration (adopted from the same record, which carries the lists with them), so at
   * most one entry per voter; a voter's own record wins over them (knownAddresses).
   */
  private learnVoters(record: MemberRecord): void {
    const support = this.support
    if (record.voters === undefined || record.leaderSeq === null || support?.leader !== record.node || support.epoch !== record.epoch) return
    for (const { node, addresses } of record.voters) if (node !== this.self && addresses.length > 0 && this.isVoter(node)) this.voterAddresses.set(node, addresses)
  }

  /** Forgets the learned addresses of nodes the configuration no longer lists as voters. */
  private dropFormerVoters(): void {
    for (const id of this.voterAddresses.keys()) if (!this.isVoter(id)) this.voterAddresses.delete(id)
  }

  /**
   * A joiner under 'swim', admitted by no configuration it holds: its echoes count for no lease, and
   * its periodic records reach the leader ("Joining"). Not only one without a configuration: a
   * joiner takes the member lists from the leader's records before it is admitted, and taken for a
   * member from then on it published every gossip interval to every node it knew, echoed every
   * leader record, and fell back to the topic every 2 s; 21 of them, waiting in a cluster of 50
   * that lost its leader while it formed, sent every node 15 signed records a second, and no
   * leader was elected for 78 s.
   */
  private quietJoiner(): boolean {
    return this.options.membership === 'swim' && !this.isMember(this.self)
  }

  private upkeepLeadership(nowMs: number): void {
    const leading = this.leading
    if (leading === null) return
    if (this.holdsLease(nowMs)) leading.lastLeaseMs = nowMs
    // Rule 6 lets the others elect a leader they can reach; a lone voter has nobody to make room
    // for, and its lease lapses only when its own records were late (an overloaded host).
    else if (nowMs - this.quorumHeardMs(leading, nowMs) > this.quorumPatienceMs(leading, nowMs) && !this.soleVoter()) {
      this.echoesAtStepDown = this.echoes(leading, nowMs)
      this.stepDown('no-quorum')
    }
  }

  /**
   * How long a leader goes without hearing a majority echo before it steps down (rule 6): a lease
   * and the observed lag; but before a majority has echoed anything of its epoch, the longest
   * round trip a lease stretches to ("Stretched leases") and the lag. Its first sequence and the
   * echoes make one round trip, as the votes that elected it did a moment ago, so both ways worked
   * then: on a saturated host (50 peers on two cores after the leader's death) the first echoes
   * came back 2-3 s after a new leader's first record, it stepped down a lease and its lag after
   * winning, and the cluster agreed on the next leader, all up, 4.6 s later.
   */
  private quorumPatienceMs(leading: Leading, nowMs: number): number {
    const config = this.config
    const echoed = config === null ? 0 : config.members.filter((m) => m === this.self || leading.echoAdvancedMs.has(m)).length
    const leases = config === null || echoed >= this.quorum(config) ? 1 : LEASE_STRETCH_MAX
    return leases * this.options.leaseMs + this.lag(nowMs)
  }

  /**
   * The last time this leader was held valid or heard from a majority of voters echoing new lease
   * sequences (rule 6): echoes that advance show that the voters hear it and it hears them, however
   * late each sequence comes back.
   */
  private quorumHeardMs(leading: Leading, nowMs: number): number {
    const config = this.config
    if (config === null) return leading.lastLeaseMs
    const heard = config.members.map((m) => (m === this.self ? nowMs : (leading.echoAdvancedMs.get(m) ?? -Infinity))).sort((a, b) => b - a)
    return Math.max(leading.lastLeaseMs, heard[this.quorum(config) - 1]!)
  }

  /** Notes when a voter's record echoes a newer sequence of this leader than its previous record did. */
  private noteEcho(before: MemberRecord | undefined, record: MemberRecord, nowMs: number): void {
    const leading = this.leading
    const s = record.support
    if (leading === null || s === null || s.leader !== this.self || s.epoch !== leading.epoch) return
    const was = before?.support
    if (was !== null && was !== undefined && was.leader === this.self && was.epoch === leading.epoch && was.seq >= s.seq) return
    leading.echoAdvancedMs.set(record.node, nowMs)
    if (s.seq > leading.seq) return
    // A sequence no longer kept was sent longer ago than any lease lasts: the round trip is at least that.
    const sent = leading.sentAt.get(s.seq)
    const sample = sent === undefined ? LEASE_STRETCH_MAX * this.options.leaseMs : nowMs - sent.atMs
    if (sample > rttAt(leading.rtt.get(record.node), nowMs)) leading.rtt.set(record.node, { ms: sample, atMs: nowMs })
  }

  /**
   * The lease granted with a sequence sent now ("Stretched leases"): for the round trip within
   * which a majority echoes (its own is none), so that one slow voter does not stretch it.
   */
  private grantMs(leading: Leading, nowMs: number): number {
    const { leaseMs } = this.options
    const config = this.config
    if (config === null) return leaseMs
    const rtts = config.members.map((m) => (m === this.self ? 0 : rttAt(leading.rtt.get(m), nowMs))).sort((a, b) => a - b)
    return Math.round(clamp(LEASE_RTT_FACTOR * rtts[this.quorum(config) - 1]!, leaseMs, LEASE_STRETCH_MAX * leaseMs))
  }

  /**
   * Per voter of the configuration: how long ago its last record came, how old the lease sequence
   * it last echoed was, and what that record said of it (the configuration it held, its status, the
   * leader it followed): a voter that echoes nothing may not yet hold the configuration that made
   * it one (a worker echoes nothing), or follow another leader.
   */
  private echoes(leading: Leading, nowMs: number): VoterEcho[] {
    return (this.config?.members ?? [])
      .filter((m) => m !== this.self)
      .map((node) => {
        const peer = this.peers.get(node)
        const record = peer?.record
        const s = record?.support
        const sent = s !== null && s !== undefined && s.leader === this.self && s.epoch === leading.epoch ? leading.sentAt.get(s.seq) : undefined
        return {
          node,
          heardMsAgo: peer === undefined ? null : Math.round(nowMs - peer.lastHeardMs),
          echoedMsAgo: sent === undefined ? null : Math.round(nowMs - sent.atMs),
          said: record === undefined ? null : this.describe(record, leading),
        }
      })
  }

  /** What a voter's `record` says of it, for the no-quorum log: its status, the configuration it holds, the leader it follows. */
  private describe(record: MemberRecord, leading: Leading): string {
    const c = record.config
    const s = record.support
    const follows = s === null ? 'none' : `${s.leader === this.self ? 'this node' : s.leader.slice(-6)} in epoch ${s.epoch} (sequence ${s.seq} of ${leading.seq})`
    return `${record.status}, configuration ${c === null ? 'none' : `${c.epoch}.${c.counter}`}, follows ${follows}`
  }

  /** What the voters had echoed when this node last stepped down for want of a quorum (for the log). */
  get lastEchoes(): readonly VoterEcho[] | undefined {
    return this.echoesAtStepDown
  }

  /** True when this node is the only voter of its configuration. */
  private soleVoter(): boolean {
    const members = this.config?.members
    return members !== undefined && members.length === 1 && members[0] === this.self
  }

  private stepDown(reason: StepDownReason): void {
    this.steppedDown = reason
    this.leading = null
    this.previousConfig = null
    this.candidateEpoch = null
    if (this.support?.leader === this.self) this.support = null
    this.publishNow = true
  }

  private leaseUntil(): number {
    const leading = this.leading
    if (leading === null || this.config === null) return -Infinity
    const current = this.leaseUnder(leading, this.config)
    return this.previousConfig === null ? current : Math.max(current, this.leaseUnder(leading, this.previousConfig))
  }

  /**
   * When the lease echoed by a majority of `config` ends: each voter's promise runs from when the
   * sequence it echoed was sent, for the shorter of the lease granted with it and the one it says
   * it waits out (a voter of an older version waits the configured lease).
   */
  private leaseUnder(leading: Leading, config: ClusterConfig): number {
    const ends: number[] = []
    for (const m of config.members) {
      let seq = leading.seq
      let waitsMs = Infinity
      if (m !== this.self) {
        const record = this.peers.get(m)?.record
        const s = record?.support
        if (s === null || s === undefined || s.leader !== this.self || s.epoch !== leading.epoch) continue
        seq = s.seq
        waitsMs = record!.leaseMs ?? this.options.leaseMs
      }
      const sent = leading.sentAt.get(seq)
      if (sent !== undefined) ends.push(sent.atMs + Math.min(sent.leaseMs, waitsMs) * (1 - 2 * this.options.drift))
    }
    const q = this.quorum(config)
    if (ends.length < q) return -Infinity
    ends.sort((a, b) => b - a)
    return ends[q - 1]!
  }

  /** Forgets sequences sent longer ago than any lease lasts: their echoes hold nothing. */
  private pruneSentAt(nowMs: number): void {
    const leading = this.leading!
    for (const [seq, sent] of leading.sentAt) {
      if (nowMs - sent.atMs <= LEASE_STRETCH_MAX * this.options.leaseMs) break
      leading.sentAt.delete(seq)
    }
  }
}

/**
 * Why a leader stops leading: no majority echoed its lease for a lease and the lag (rule 6), a voter's
 * record of a newer epoch, `resign` (rule 8), or a configuration without it.
 */
export type StepDownReason = 'no-quorum' | 'newer-epoch' | 'resigned' | 'removed'

/** A voter's part in a lease that lapsed: its last record, and the age of the sequence it echoed (null: none of this epoch). */
export interface VoterEcho {
  readonly node: NodeId
  readonly heardMsAgo: number | null
  readonly echoedMsAgo: number | null
  /** What its last record said: status, configuration version held, the leader it followed. */
  readonly said: string | null
}

/** Leases a resigned node waits before it campaigns again: long enough for another voter to win. */
const RESIGN_HOLD_OFF_LEASES = 3

/** Records that still carry the member list after a configuration change, so non-leaders spread it too. */
const CONFIG_REPEAT = 20

/**
 * Least time between a configuration change and one that only admits joiners as workers. Each
 * change sends every member a record with the member lists and makes each one adopt them; a
 * leader admitting 49 joiners as each was heard made one change per lease round trip while they
 * arrived, and the faster it ran (given more CPU), the more changes it made and the more every
 * member had to take in. Joiners heard meanwhile come in together; a lone joiner waits at most
 * this long after an earlier change, and not at all otherwise.
 */
const ADMISSION_GAP_MS = 1000

export { QUIET_WARNING_MS } from './snapshot.js'

/** Silence after which a node that is not a voter is forgotten. */
const FORGET_AFTER_MS = 60_000

/**
 * Spread of a quiet worker's refresh period, as a fraction either way. Workers admitted in one
 * configuration would refresh in the same instant, period after period: at 50 peers every node took
 * in a burst of 49 records every 10 s, and the leader's lease lapsed in one. The mean stays the period.
 */
const REFRESH_JITTER = 0.25

/** Longest lease a leader grants, in configured leases ("Stretched leases"); also what a restarted node waits out. */
export const LEASE_STRETCH_MAX = 3
/** A stretched lease lasts this many measured round trips. */
const LEASE_RTT_FACTOR = 2
/** The measured round trip is forgotten at this many ms per ms: a 2 s sample counts for 10 s. */
const RTT_DECAY = 0.2

function rttAt(rtt: { readonly ms: number; readonly atMs: number } | undefined, nowMs: number): number {
  return rtt === undefined ? 0 : Math.max(0, rtt.ms - (nowMs - rtt.atMs) * RTT_DECAY)
}

function clamp(x: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, x))
}

/** Least time between two records that fall back to the topic for unreached members that elect nothing with this node (recordFallsBack). */
const FALLBACK_TO_WORKERS_MS = 2000

/**
 * The longest gap between a connected joiner's records to all, in joinerTopicMs ("Joining"): one
 * reaching the leader is enough, and while a saturated host keeps the leader from admitting, every
 * node checking 49 joiners' records every 2 s was a fifth of the host's CPU.
 */
const JOINER_TOPIC_MAX_GAPS = 8

/** Connections a joiner sends its records over ("Joining"): its bootstrap peers, and who dialled it. */
const DOORS_MAX = 8

function newer(a: MemberRecord, b: MemberRecord): boolean {
  return a.incarnation > b.incarnation || (a.incarnation === b.incarnation && a.seq > b.seq)
}

/**
 * Orders log positions by (epoch, index): negative when `a` is behind `b`. A node without a
 * replicated log (null) compares as equal to every position, so nodes whose job log lives outside
 * them (Kafka, the shared file log) elect exactly as without the rule.
 */
export function compareLogs(a: LogPosition | null, b: LogPosition | null): number {
  if (a === null || b === null) return 0
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.index - b.index
}

/** A copy of `position`; throws RangeError unless both parts are non-negative safe integers. */
export function checkLogPosition(position: LogPosition): LogPosition {
  if (!Number.isSafeInteger(position.epoch) || !Number.isSafeInteger(position.index) || position.epoch < 0 || position.index < 0)
    throw new RangeError(`invalid log position ${JSON.stringify(position)}`)
  return { epoch: position.epoch, index: position.index }
}

/** Like compareLogs, but an unknown position (null) is behind every known one: for choosing among workers. */
function compareKnownLogs(a: LogPosition | null, b: LogPosition | null): number {
  if (a === null || b === null) return (a === null ? 0 : 1) - (b === null ? 0 : 1)
  return compareLogs(a, b)
}

function versionAfter(a: { epoch: number; counter: number }, b: { epoch: number; counter: number }): boolean {
  return a.epoch > b.epoch || (a.epoch === b.epoch && a.counter > b.counter)
}

function versionAtLeast(a: { epoch: number; counter: number } | null, b: { epoch: number; counter: number }): boolean {
  return a !== null && !versionAfter(b, a)
}
