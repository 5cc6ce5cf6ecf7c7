import Delivery
import DrainCore
import DrainStore
import Foundation

/// `drain-admin create` input, before the secret is read.
public struct CreateRequest: Sendable {
    public var account: String
    public var actor: String
    public var name: String
    public var url: String
    public var secret: SecretSource
    public var samplingRate: Int
    public var skipTest: Bool
    public var disabled: Bool

    public init(account: String, actor: String, name: String, url: String, secret: SecretSource,
                samplingRate: Int, skipTest: Bool, disabled: Bool) {
        self.account = account
        self.actor = actor
        self.name = name
        self.url = url
        self.secret = secret
        self.samplingRate = samplingRate
        self.skipTest = skipTest
        self.disabled = disabled
    }
}

/// A saved drain, with the secret when it was generated (shown once) and the test's result.
public struct CreatedDrain: Sendable {
    public let drain: DrainStatus
    public let generatedSecret: String?
    public let test: String
}

/// What `update` did, in lines for people, with a generated secret (shown once).
public struct UpdatedDrain: Sendable {
    public let notes: [String]
    public let generatedSecret: String?
}

extension Admin {
    public func createDrain(_ r: CreateRequest) throws -> CreatedDrain {
        try Validate.accountName(r.account)
        try Validate.email(r.actor)
        try Validate.drainName(r.name)
        try Validate.endpointURL(r.url)
        try Validate.samplingRate(r.samplingRate)
        let secret = try r.secret.read()
        try EndpointGuard.check(url: r.url, allowPrivate: environment.allowPrivateEndpoints)
        try store.precheck(account: r.account, actor: r.actor, enabling: !r.disabled)
        let testLine = r.skipTest ? "test delivery skipped (--skip-test)" : try testSend(url: r.url, secret: secret)
        let id = try store.createDrain(NewDrain(account: r.account, actor: r.actor, name: r.name, url: r.url,
                                                secret: try storedForm(of: secret), samplingRate: r.samplingRate,
                                                enabled: !r.disabled))
        guard let drain = try store.drain(id: id) else { throw AdminError("drain \(id) vanished after creation", kind: .failed) }
        return CreatedDrain(drain: drain, generatedSecret: r.secret.isGenerated ? secret : nil, test: testLine)
    }

    public func changeDrain(id: String, actor: String, change: DrainChange, secret: SecretSource?, skipTest: Bool) throws -> UpdatedDrain {
        try Self.checkDrainID(id)
        try Validate.email(actor)
        var change = change
        if let name = change.name { try Validate.drainName(name) }
        if let url = change.url { try Validate.endpointURL(url) }
        if let rate = change.samplingRate { try Validate.samplingRate(rate) }
        if let secret { change.secret = try secret.read() }
        guard !change.isEmpty else { throw AdminError("update: nothing to change: give --name, --url, --sampling-rate or a secret option") }
        try store.precheck(drainID: id, actor: actor)
        var notes: [String] = []
        if let url = change.url {
            try EndpointGuard.check(url: url, allowPrivate: environment.allowPrivateEndpoints)
            if skipTest {
                notes.append("test delivery skipped (--skip-test)")
            } else {
                let currentSecret = try store.endpoint(drainID: id)?.secret
                guard let testSecret = try change.secret ?? currentSecret.map(plaintext(of:)) else {
                    throw AdminError("drain: no drain with id \(id)", kind: .notFound)
                }
                notes.append(try testSend(url: url, secret: testSecret))
            }
        }
        var stored = change
        stored.secret = try change.secret.map(storedForm(of:))
        try store.updateDrain(id: id, actor: actor, change: stored)
        notes.insert("updated drain \(id)", at: 0)
        return UpdatedDrain(notes: notes, generatedSecret: secret?.isGenerated == true ? change.secret : nil)
    }

    /// One drain's status, or nil when there is none with this id.
    public func drain(id: String) throws -> DrainStatus? {
        try Self.checkDrainID(id)
        return try store.drain(id: id)
    }

    public func drains(account: String?) throws -> [DrainStatus] { try store.drains(account: account) }

    public func enableDrain(id: String, actor: String, skipBacklog: Bool) throws {
        try Self.checkDrainID(id)
        try Validate.email(actor)
        try store.enableDrain(id: id, actor: actor, skipBacklog: skipBacklog)
    }

    public func disableDrain(id: String, actor: String) throws {
        try Self.checkDrainID(id)
        try Validate.email(actor)
        try store.disableDrain(id: id, actor: actor)
    }

    public func deleteDrain(id: String, actor: String) throws {
        try Self.checkDrainID(id)
        try Validate.email(actor)
        try store.deleteDrain(id: id, actor: actor)
    }

    /// A drain and, when asked for, its recent attempts (`show`).
    public func drainDetail(id: String, attempts: Bool) throws -> (drain: DrainStatus, attempts: [RecentAttempt]) {
        try Self.checkDrainID(id)
        guard let d = try store.drain(id: id) else { throw AdminError("drain: no drain with id \(id)", kind: .notFound) }
        return (d, attempts ? try store.recentAttempts(drainID: id) : [])
    }

    public func audit(account: String) throws -> [AuditEvent] { try store.audit(account: account) }

    public func workers() throws -> [WorkerInfo] { try store.workers() }
}
