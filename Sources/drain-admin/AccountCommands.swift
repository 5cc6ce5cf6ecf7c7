import ArgumentParser
import DrainAdminKit
import DrainCore

struct AccountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account", abstract: "Create and list accounts (platform operator; no --as).",
        subcommands: [Create.self, List.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an account.",
            discussion: """
                NAME is 1-63 characters of a-z, 0-9 and '-', unique. The printed id is the \
                logs.account_id that producers write.

                Example: drain-admin account create acme --json
                """)
        @Argument(help: "Account name.") var name: String
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions
        func run() throws { try perform(connection) {
            let account = try $0.createAccount(name: name)
            return output.json ? account.json.render() : "created account \(account.name) (id \(account.id))"
        } }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts.",
                                                        discussion: "Example: drain-admin account list --json")
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions
        func run() throws { try perform(connection) { render(try $0.accounts(), json: output.json) } }
    }
}

struct MemberCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "member", abstract: "Add and list account members (platform operator; no --as).",
        subcommands: [Add.self, List.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user to an account, or change their role.",
            discussion: """
                Only members with the admin role may create and change the account's drains.

                Example: drain-admin member add acme ops@acme.example --role admin
                """)
        @Argument(help: "Account name.") var account: String
        @Argument(help: "The user's email address.") var email: String
        @Option(help: "admin or member.") var role: Role
        @Option(help: "Link the member to this PostgreSQL login role: its sessions may act (--as) only as this member.")
        var dbRole: String?
        @OptionGroup var connection: ConnectionOptions
        func run() throws {
            try perform(connection) {
                try $0.addMember(account: account, email: email, role: role, dbRole: dbRole)
                return "\(email.lowercased()) is now \(role.rawValue) of \(account)" + (dbRole.map { ", acting through login role \($0)" } ?? "")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an account's members.",
                                                        discussion: "Example: drain-admin member list acme --json")
        @Argument(help: "Account name.") var account: String
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions
        func run() throws { try perform(connection) { render(try $0.members(account: account), json: output.json) } }
    }
}
