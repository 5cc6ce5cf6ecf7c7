/// The decisions of one claimed drain's delivery (DESIGN §2), as a value with no I/O: the
/// worker's database side feeds it what happened and carries out the action it returns.
/// claimed → (skip filtered rows) → read → begin the attempt → send (and read the next batch
/// ahead) → 2xx / failure → advance into the next batch, or record and release.
/// Modelled on postgres-nio's `ConnectionStateMachine`: `mutating func event(...) -> Action`.
public struct DrainDelivery: Sendable {
    /// What the claim said about the drain.
    public struct Claim: Sendable, Equatable {
        public var samplingRate: Int
        /// Lines of the batch an earlier attempt fixed; its re-read must find exactly these.
        public var pendingLines: Int?
        /// The new-drain rule (§2.8) still filters this drain's rows.
        public var filtering: Bool

        public init(samplingRate: Int, pendingLines: Int?, filtering: Bool) {
            self.samplingRate = samplingRate
            self.pendingLines = pendingLines
            self.filtering = filtering
        }
    }

    public enum ReadAhead: Sendable, Equatable {
        case none
        /// The next batch was read while this one was on the wire.
        case ready(lines: Int)
        /// Nothing more was readable.
        case empty
    }

    public enum State: Sendable, Equatable {
        case claimed
        case skippingFiltered
        case reading
        case droppingPendingBatch
        case starting(lines: Int)
        case sending(lines: Int, attempt: Int, readAhead: ReadAhead)
        /// The outcome waits until the database takes it.
        case recording(DeliveryOutcome, dueNow: Bool)
        /// A 2xx, to be recorded together with fixing the read-ahead batch as the next one.
        case advancing(DeliveryOutcome)
        case finished
    }

    public enum Action: Sendable, Equatable {
        /// Move the cursor over rows the new-drain rule drops (bounded), then read.
        case skipFiltered
        /// Read the drain's batch: the pending one exactly, or the next one.
        case read
        /// The pending batch's rows are gone: drop it and count the gap (§2.14).
        case dropPendingBatch(missingLines: Int)
        /// Nothing to send now: release the lease; due again at once or after the interval.
        case release(dueNow: Bool)
        /// Fix the batch's end (first attempt) and count the attempt.
        case beginAttempt
        /// Hand the batch to the HTTP loop.
        case send
        /// Read the batch after the one on the wire.
        case readAhead
        /// Record the 2xx and start the batch read ahead, in one statement.
        case advance
        /// Record the outcome (fenced by the lease); release the drain.
        case record
        /// The outcome stays queued until the database answers again.
        case waitForDatabase
        /// Nothing more for this drain in this claim.
        case finish
    }

    public private(set) var state: State = .claimed
    public private(set) var claim: Claim
    private var skipSteps = 0
    /// The batch in hand ended at a limit (the sampling rate or the byte cap), so more lines
    /// may be waiting behind it.
    private var batchFull = false

    public init(claim: Claim) {
        self.claim = claim
    }

    /// The claim came back.
    public mutating func start(stopping: Bool) -> Action {
        guard state == .claimed else { return unexpected("start") }
        if stopping { return release(dueNow: true) }
        if claim.filtering && claim.pendingLines == nil {
            state = .skippingFiltered
            return .skipFiltered
        }
        state = .reading
        return .read
    }

    /// Bounded steps over filtered rows one claim may take before it lets other work in; the
    /// drain is then due again at once and goes on where the cursor stopped (§2.12).
    public static let skipStepsPerClaim = 25

    /// The filtered rows were passed. `moreToScan`: the bounded scan found only filtered rows
    /// and stopped at its limit, so there may be more to pass.
    public mutating func skipped(moreToScan: Bool) -> Action {
        guard state == .skippingFiltered else { return unexpected("skipped") }
        if moreToScan {
            skipSteps += 1
            return skipSteps < Self.skipStepsPerClaim ? .skipFiltered : release(dueNow: true)
        }
        state = .reading
        return .read
    }

    /// The read came back with `lines` lines (nil: nothing readable); `cutByBytes` when the
    /// byte cap, not the sampling rate or the end of the rows, ended the batch.
    public mutating func read(lines: Int?, cutByBytes: Bool = false) -> Action {
        guard state == .reading else { return unexpected("read") }
        if let pending = claim.pendingLines, (lines ?? 0) != pending {
            state = .droppingPendingBatch
            return .dropPendingBatch(missingLines: max(pending - (lines ?? 0), 0))
        }
        guard let lines, lines > 0 else { return release(dueNow: false) }
        batchFull = cutByBytes || lines >= claim.samplingRate
        state = .starting(lines: lines)
        return .beginAttempt
    }

    /// The standby that log rows are read from has not replayed this drain's pending batch to
    /// its end yet: nothing is missing, only late. Let the drain go and read it again after an
    /// interval (no attempt, no failure, no gap), so the retry's body stays byte-identical.
    public mutating func standbyBehind() -> Action {
        guard state == .reading else { return unexpected("standbyBehind") }
        return release(dueNow: false)
    }

    /// The pending batch was dropped: read afresh from the cursor.
    public mutating func droppedPendingBatch() -> Action {
        guard state == .droppingPendingBatch else { return unexpected("droppedPendingBatch") }
        claim.pendingLines = nil
        state = .reading
        return .read
    }

    /// The attempt was counted (`attempt`), or refused because the lease was lost or the
    /// drain disabled or deleted meanwhile (nil): then nothing is sent.
    public mutating func attemptStarted(_ attempt: Int?, readAheadAllowed: Bool) -> [Action] {
        guard case .starting(let lines) = state else { return [unexpected("attemptStarted")] }
        guard let attempt else {
            state = .finished
            return [.finish]
        }
        state = .sending(lines: lines, attempt: attempt, readAhead: .none)
        return wantsReadAhead(allowed: readAheadAllowed) ? [.send, .readAhead] : [.send]
    }

    /// The batch after the one on the wire was read (`lines`, nil when nothing was readable).
    public mutating func readAheadFinished(lines: Int?) {
        guard case .sending(let current, let attempt, _) = state else { return }
        state = .sending(lines: current, attempt: attempt, readAhead: lines.map { .ready(lines: $0) } ?? .empty)
    }

    /// The endpoint answered, or the exchange failed.
    public mutating func responded(_ result: DeliveryOutcome, stopping: Bool) -> Action {
        guard case .sending(_, let attempt, let readAhead) = state else { return unexpected("responded") }
        if result.isSuccess, case .ready = readAhead, !stopping {
            state = .advancing(result)
            return .advance
        }
        // More waiting (a full batch, or a retried one that held newer lines back): due at once.
        let more = result.isSuccess && (batchFull || attempt > 1)
        state = .recording(result, dueNow: more)
        return .record
    }

    /// The advance statement ran: `attempt` is the next batch's (always 1), or nil when it did
    /// not apply (lease lost, drain disabled, the read-ahead batch over a lowered sampling rate):
    /// then the 2xx is recorded on its own.
    public mutating func advanced(nextLines: Int, nextCutByBytes: Bool = false, attempt: Int?, readAheadAllowed: Bool) -> [Action] {
        guard case .advancing(let result) = state else { return [unexpected("advanced")] }
        guard let attempt else {
            state = .recording(result, dueNow: true)
            return [.record]
        }
        batchFull = nextCutByBytes || nextLines >= claim.samplingRate
        state = .sending(lines: nextLines, attempt: attempt, readAhead: .none)
        return wantsReadAhead(allowed: readAheadAllowed) ? [.send, .readAhead] : [.send]
    }

    /// The outcome was written (`kept`), or matched nothing because the lease was lost.
    public mutating func recorded() -> Action {
        switch state {
        case .recording: state = .finished; return .finish
        default: return unexpected("recorded")
        }
    }

    /// The released lease was written.
    public mutating func released() -> Action {
        state = .finished
        return .finish
    }

    /// The database could not be reached. An outcome waits for it (a stall or an outage never
    /// costs a failure or a resend, §2.11); an advance becomes a plain record, since the next
    /// batch starts afresh once the database is back. Anything not yet sent is abandoned: the
    /// lease expires and the drain is claimed again.
    public mutating func databaseUnavailable() -> Action {
        switch state {
        case .recording:
            return .waitForDatabase
        case .advancing(let result):
            state = .recording(result, dueNow: true)
            return .waitForDatabase
        case .sending:
            return .waitForDatabase  // the exchange goes on; its outcome will wait
        default:
            state = .finished
            return .finish
        }
    }

    /// The database refused the statement for a reason other than an outage: give the drain up
    /// (its lease expires and the same batch is resent) rather than retry forever.
    public mutating func databaseRefused() -> Action {
        state = .finished
        return .finish
    }

    /// The outcome to record, while recording.
    public var outcome: (result: DeliveryOutcome, dueNow: Bool)? {
        switch state {
        case .recording(let result, let dueNow): return (result, dueNow)
        case .advancing(let result): return (result, true)
        default: return nil
        }
    }

    /// True while an exchange is on the wire.
    public var isSending: Bool {
        if case .sending = state { return true }
        return false
    }

    private func wantsReadAhead(allowed: Bool) -> Bool {
        allowed && !claim.filtering && batchFull
    }

    private mutating func release(dueNow: Bool) -> Action {
        state = .finished
        return .release(dueNow: dueNow)
    }

    /// An event that does not fit the state is a bug in the shell; give the drain up safely
    /// (its lease expires) instead of acting on it.
    private mutating func unexpected(_ event: String) -> Action {
        assertionFailure("DrainDelivery: \(event) in state \(state)")
        state = .finished
        return .finish
    }
}

extension DeliveryOutcome {
    public var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
