import XCTest
@testable import DrainCore

/// Every transition of the per-drain delivery state machine, case by case.
final class DrainDeliveryTests: XCTestCase {
    private let ok = DeliveryOutcome.success(status: 200, seconds: 0.01)
    private let failed = DeliveryOutcome.failure(status: 500, error: "HTTP 500", retryDelay: 1, seconds: 0.01)

    private func machine(rate: Int = 10, pending: Int? = nil, filtering: Bool = false) -> DrainDelivery {
        DrainDelivery(claim: .init(samplingRate: rate, pendingLines: pending, filtering: filtering))
    }

    /// A machine with a batch of `lines` on the wire (attempt `attempt`).
    private func sending(lines: Int, rate: Int = 10, attempt: Int = 1, readAhead: Bool = false) -> DrainDelivery {
        var m = machine(rate: rate)
        XCTAssertEqual(m.start(stopping: false), .read)
        XCTAssertEqual(m.read(lines: lines), .beginAttempt)
        _ = m.attemptStarted(attempt, readAheadAllowed: readAhead)
        return m
    }

    func testClaimReadsFirst() {
        var m = machine()
        XCTAssertEqual(m.start(stopping: false), .read)
        XCTAssertEqual(m.state, .reading)
    }

    func testClaimWhileStoppingReleasesAtOnce() {
        var m = machine()
        XCTAssertEqual(m.start(stopping: true), .release(dueNow: true))
        XCTAssertEqual(m.state, .finished)
    }

    func testFilteredDrainPassesFilteredRowsBeforeReading() {
        var m = machine(filtering: true)
        XCTAssertEqual(m.start(stopping: false), .skipFiltered)
        XCTAssertEqual(m.skipped(moreToScan: false), .read)
    }

    func testFilteredScanGoesOnInBoundedStepsThenComesBackAtOnce() {
        var m = machine(filtering: true)
        _ = m.start(stopping: false)
        for _ in 1..<DrainDelivery.skipStepsPerClaim {
            XCTAssertEqual(m.skipped(moreToScan: true), .skipFiltered)
        }
        XCTAssertEqual(m.skipped(moreToScan: true), .release(dueNow: true))
        XCTAssertEqual(m.state, .finished)
    }

    func testPendingBatchIsReReadEvenWhileFiltering() {
        var m = machine(pending: 5, filtering: true)
        XCTAssertEqual(m.start(stopping: false), .read)
        XCTAssertEqual(m.read(lines: 5), .beginAttempt)
    }

    func testNothingReadableReleasesAfterTheInterval() {
        var m = machine()
        _ = m.start(stopping: false)
        XCTAssertEqual(m.read(lines: nil), .release(dueNow: false))
        XCTAssertEqual(m.released(), .finish)
    }

    func testAStandbyBehindItsPendingBatchReleasesWithoutDroppingIt() {
        var m = machine(pending: 3)
        XCTAssertEqual(m.start(stopping: false), .read)
        XCTAssertEqual(m.standbyBehind(), .release(dueNow: false), "read again after an interval; no gap, no attempt")
        XCTAssertEqual(m.state, .finished)
    }

    func testPendingBatchWithMissingRowsIsDroppedAndReadAfresh() {
        var m = machine(pending: 5)
        _ = m.start(stopping: false)
        XCTAssertEqual(m.read(lines: 3), .dropPendingBatch(missingLines: 2))
        XCTAssertEqual(m.droppedPendingBatch(), .read)
        XCTAssertNil(m.claim.pendingLines)
        XCTAssertEqual(m.read(lines: 3), .beginAttempt)
    }

    func testPendingBatchWhoseRowsAreAllGone() {
        var m = machine(pending: 4)
        _ = m.start(stopping: false)
        XCTAssertEqual(m.read(lines: nil), .dropPendingBatch(missingLines: 4))
        XCTAssertEqual(m.droppedPendingBatch(), .read)
        XCTAssertEqual(m.read(lines: nil), .release(dueNow: false))
    }

    func testRefusedAttemptSendsNothing() {
        var m = machine()
        _ = m.start(stopping: false)
        _ = m.read(lines: 3)
        XCTAssertEqual(m.attemptStarted(nil, readAheadAllowed: true), [.finish])
        XCTAssertEqual(m.state, .finished)
    }

    func testFullBatchReadsAheadWhenAllowed() {
        var m = machine(rate: 3)
        _ = m.start(stopping: false)
        _ = m.read(lines: 3)
        XCTAssertEqual(m.attemptStarted(1, readAheadAllowed: true), [.send, .readAhead])
    }

    func testPartialBatchOrDisallowedOrFilteredDoesNotReadAhead() {
        var partial = machine(rate: 3)
        _ = partial.start(stopping: false)
        _ = partial.read(lines: 2)
        XCTAssertEqual(partial.attemptStarted(1, readAheadAllowed: true), [.send])

        var crowded = machine(rate: 3)
        _ = crowded.start(stopping: false)
        _ = crowded.read(lines: 3)
        XCTAssertEqual(crowded.attemptStarted(1, readAheadAllowed: false), [.send])

        var filtered = machine(rate: 3, filtering: true)
        _ = filtered.start(stopping: false)
        _ = filtered.skipped(moreToScan: false)
        _ = filtered.read(lines: 3)
        XCTAssertEqual(filtered.attemptStarted(1, readAheadAllowed: true), [.send])
    }

    func testBatchEndedByTheByteCapCountsAsFull() {
        var m = machine(rate: 5000)
        _ = m.start(stopping: false)
        XCTAssertEqual(m.read(lines: 12, cutByBytes: true), .beginAttempt)
        XCTAssertEqual(m.attemptStarted(1, readAheadAllowed: true), [.send, .readAhead], "more lines wait behind it")
        m.readAheadFinished(lines: nil)
        _ = m.responded(ok, stopping: false)
        XCTAssertEqual(m.outcome?.dueNow, true)
    }

    func testSuccessWithReadAheadAdvances() {
        var m = sending(lines: 10, readAhead: true)
        m.readAheadFinished(lines: 10)
        XCTAssertEqual(m.responded(ok, stopping: false), .advance)
        XCTAssertEqual(m.advanced(nextLines: 10, attempt: 1, readAheadAllowed: true), [.send, .readAhead])
        XCTAssertEqual(m.state, .sending(lines: 10, attempt: 1, readAhead: .none))
    }

    func testAdvanceThatDoesNotApplyRecordsTheSuccessAlone() {
        var m = sending(lines: 10, readAhead: true)
        m.readAheadFinished(lines: 10)
        _ = m.responded(ok, stopping: false)
        XCTAssertEqual(m.advanced(nextLines: 10, attempt: nil, readAheadAllowed: true), [.record])
        XCTAssertEqual(m.outcome?.result, ok)
        XCTAssertEqual(m.outcome?.dueNow, true)
        XCTAssertEqual(m.recorded(), .finish)
    }

    func testSuccessWithEmptyReadAheadRecords() {
        var m = sending(lines: 10, readAhead: true)
        m.readAheadFinished(lines: nil)
        XCTAssertEqual(m.responded(ok, stopping: false), .record)
        XCTAssertEqual(m.outcome?.dueNow, true, "a full batch: more may be waiting")
    }

    func testStoppingNeverAdvances() {
        var m = sending(lines: 10, readAhead: true)
        m.readAheadFinished(lines: 10)
        XCTAssertEqual(m.responded(ok, stopping: true), .record)
    }

    func testPartialFirstAttemptIsDueAfterTheInterval() {
        var m = sending(lines: 4)
        XCTAssertEqual(m.responded(ok, stopping: false), .record)
        XCTAssertEqual(m.outcome?.dueNow, false)
    }

    func testSuccessfulRetryIsDueAtOnce() {
        var m = sending(lines: 4, attempt: 2)
        _ = m.responded(ok, stopping: false)
        XCTAssertEqual(m.outcome?.dueNow, true, "newer lines were held back behind the retried batch")
    }

    func testFailureRecordsEvenWithReadAheadReady() {
        var m = sending(lines: 10, readAhead: true)
        m.readAheadFinished(lines: 10)
        XCTAssertEqual(m.responded(failed, stopping: false), .record)
        XCTAssertEqual(m.outcome?.result, failed)
        XCTAssertEqual(m.outcome?.dueNow, false)
    }

    func testOutcomeWaitsForTheDatabase() {
        var m = sending(lines: 4)
        _ = m.responded(ok, stopping: false)
        XCTAssertEqual(m.databaseUnavailable(), .waitForDatabase)
        XCTAssertEqual(m.outcome?.result, ok, "a stall never turns a 2xx into anything else")
        XCTAssertEqual(m.recorded(), .finish)
    }

    func testAdvanceDuringAnOutageBecomesAPlainRecord() {
        var m = sending(lines: 10, readAhead: true)
        m.readAheadFinished(lines: 10)
        _ = m.responded(ok, stopping: false)
        XCTAssertEqual(m.databaseUnavailable(), .waitForDatabase)
        XCTAssertEqual(m.state, .recording(ok, dueNow: true))
    }

    func testExchangeOnTheWireOutlivesAnOutage() {
        var m = sending(lines: 4)
        XCTAssertEqual(m.databaseUnavailable(), .waitForDatabase)
        XCTAssertTrue(m.isSending)
        XCTAssertEqual(m.responded(ok, stopping: false), .record)
    }

    func testUnsentDrainIsAbandonedOnAnOutage() {
        var m = machine()
        _ = m.start(stopping: false)
        XCTAssertEqual(m.databaseUnavailable(), .finish)
        XCTAssertEqual(m.state, .finished)
    }

    func testRefusedStatementGivesTheDrainUp() {
        var m = sending(lines: 4)
        _ = m.responded(failed, stopping: false)
        XCTAssertEqual(m.databaseRefused(), .finish)
        XCTAssertNil(m.outcome)
    }

    func testLimitsMatchTheContract() {
        XCTAssertEqual(Limits.maxBatchBytes, 4 * 1024 * 1024)
        XCTAssertEqual(Limits.maxMessageBytes, 1024 * 1024)
        XCTAssertEqual(Limits.maxLevelBytes, 64)
        XCTAssertEqual(Limits.maxLabelBytes, 1024)
        XCTAssertEqual(Limits.failuresBeforeDisable, 5)
    }
}
