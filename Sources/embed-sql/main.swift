import Foundation

// embed-sql OUTPUT FILE...: writes a Swift file holding each SQL file (named by its base name)
// verbatim, in the order given. Used by the EmbedMigrations build plugin.
let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: embed-sql OUTPUT FILE...\n".utf8))
    exit(2)
}
var swift = "// Generated at build time from sql/*.sql by the EmbedMigrations plugin.\n"
swift += "enum EmbeddedMigrations {\n    static let all: [(version: String, sql: String)] = [\n"
for path in arguments.dropFirst() {
    let url = URL(fileURLWithPath: path)
    let text = try String(contentsOf: url, encoding: .utf8)
    // A raw string delimiter longer than any run of '#' in the text keeps it verbatim.
    var hashes = "#"
    while text.contains("\"" + hashes) { hashes += "#" }
    swift += "        (\"\(url.deletingPathExtension().lastPathComponent)\", \(hashes)\"\(text.replacingOccurrences(of: "\n", with: "\\\(hashes)n"))\"\(hashes)),\n"
}
swift += "    ]\n}\n"
try swift.write(to: URL(fileURLWithPath: output), atomically: true, encoding: .utf8)
