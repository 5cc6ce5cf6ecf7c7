import ArgumentParser
import DrainAdminKit
import DrainCore
import DrainServeKit
import Foundation

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Sign-in tokens for the dashboard and the JSON API (platform operator; no --as).",
        subcommands: [Create.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a sign-in token for a member; it is printed once and only its hash is kept.",
            discussion: "Example: drain-admin token create acme ops@acme.example --json")
        @Argument(help: "Account name.") var account: String
        @Argument(help: "The member's email address.") var email: String
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions
        func run() throws { try perform(connection) {
            let issued = try $0.createToken(account: account, email: email)
            if output.json { return JSONOutput.object([("token", .string(issued.token))]).render() }
            // stdout is the token alone (for `TOKEN=$(drain-admin token create ...)`); the words go to stderr.
            $0.notices.append("sign-in token for \(issued.email) in \(issued.account) (shown once; store it now)")
            return issued.token
        } }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End every token of a member, and their dashboard sessions.",
            discussion: "Example: drain-admin token revoke acme ops@acme.example")
        @Argument(help: "Account name.") var account: String
        @Argument(help: "The member's email address.") var email: String
        @OptionGroup var connection: ConnectionOptions
        func run() throws { try perform(connection) {
            let n = try $0.revokeTokens(account: account, email: email)
            return "revoked \(n) token\(n == 1 ? "" : "s") of \(email.lowercased()) in \(account); their dashboard sessions ended"
        } }
    }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the dashboard (/) and the JSON API (/api/v1) over the admin SQL functions.",
        discussion: """
            Customers sign in with a token from `drain-admin token create`. Run it in an operator \
            session (DATABASE_URL of a logdrain_operator login): the server vouches for each \
            token's member. Put a TLS-terminating proxy in front of it for anything but loopback; \
            cookies are marked Secure when the proxy sends X-Forwarded-Proto: https.

            Example: drain-admin serve --listen 127.0.0.1:8080
            """)
    @Option(help: ArgumentHelp("Address to listen on.", valueName: "host:port")) var listen = "127.0.0.1:8080"
    @Option(help: "Database connections (and so concurrent operations) the server keeps.") var connections = 4
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var endpoint: EndpointOptions

    func validate() throws {
        guard (1...64).contains(connections) else { throw ValidationError("connections: must be between 1 and 64") }
        _ = try DrainServer.parseListen(listen)
    }

    func run() async throws {
        let environment = resolveEnvironment(connection, endpoint)
        try await DrainServer.run(environment: environment, listen: listen, connections: connections) { port in
            FileHandle.standardError.write(Data("drain-admin: serving the dashboard and API on http://\(listen.split(separator: ":").dropLast().joined(separator: ":")):\(port)/\n".utf8))
        }
    }
}
