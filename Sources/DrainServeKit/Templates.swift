import DrainCore
import Mustache

/// The dashboard's pages, as Mustache templates (`{{x}}` is HTML-escaped; nothing here uses the
/// unescaped `{{{x}}}`). No script and no inline style: the Content-Security-Policy forbids both.
enum Templates {
    static func library() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        try library.register(layoutStart, named: "layoutStart")
        try library.register(layoutEnd, named: "layoutEnd")
        try library.register(signIn, named: "signin")
        try library.register(drains, named: "drains")
        try library.register(confirmDelete, named: "confirmDelete")
        try library.register(errorPage, named: "errorPage")
        return library
    }

    static let layoutStart = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · LogDrain</title>
        <link rel="stylesheet" href="/static/style.css">
        </head>
        <body>
        <header class="top">
          <span class="brand">LogDrain</span>
          {{#member}}
          <span class="who">{{email}} · {{account}} · {{role}}</span>
          <form method="post" action="/signout" class="inline">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <button type="submit" class="link">Sign out</button>
          </form>
          {{/member}}
        </header>
        <main>
        {{#notice}}<p class="notice" role="status">{{.}}</p>{{/notice}}
        {{#error}}<p class="error" role="alert">{{.}}</p>{{/error}}
        """

    static let layoutEnd = """
        </main>
        </body>
        </html>
        """

    static let signIn = """
        {{> layoutStart}}
        <section class="card narrow">
          <h1>Sign in</h1>
          <p>Paste the sign-in token your platform operator gave you
             (<code>drain-admin token create ACCOUNT EMAIL</code>).</p>
          <form method="post" action="/signin">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <label for="token">Token</label>
            <input id="token" name="token" type="password" autocomplete="off" required>
            <button type="submit" class="primary">Sign in</button>
          </form>
        </section>
        {{> layoutEnd}}
        """

    static let drains = """
        {{> layoutStart}}
        <section class="card">
          <h1>Log drains</h1>
          <p class="hint">Logs of <strong>{{member.account}}</strong> are forwarded, as they happen, to one enabled
             drain: batched NDJSON over HTTPS, signed with HMAC-SHA256.</p>
          {{^drains}}<p class="empty">No log drains yet.</p>{{/drains}}
          {{#hasDrains}}
          <table>
            <thead><tr><th>Name</th><th>Endpoint</th><th>Status</th><th>Failures</th><th>Last success</th>
                       <th>Last error</th><th>Lag</th><th>Actions</th></tr></thead>
            <tbody>
            {{#drains}}
            <tr id="drain-{{id}}">
              <td>{{name}}</td>
              <td class="url">{{url}}</td>
              <td><span class="status {{statusClass}}">{{status}}</span></td>
              <td class="num">{{failures}}</td>
              <td>{{lastSuccess}}</td>
              <td class="lasterror">{{lastError}}</td>
              <td>{{lag}}</td>
              <td class="actions">
                {{#canChange}}
                <a href="/?edit={{id}}" class="button" aria-label="Edit {{name}}">Edit</a>
                {{#enabled}}
                <form method="post" action="/drains/{{id}}/disable" class="inline">
                  <input type="hidden" name="csrf" value="{{csrf}}">
                  <button type="submit" aria-label="Disable {{name}}">Disable</button>
                </form>
                {{/enabled}}
                {{^enabled}}
                <form method="post" action="/drains/{{id}}/enable" class="inline">
                  <input type="hidden" name="csrf" value="{{csrf}}">
                  <button type="submit" aria-label="Enable {{name}}">Enable</button>
                </form>
                {{/enabled}}
                <a href="/drains/{{id}}/delete" class="button danger" aria-label="Delete {{name}}">Delete</a>
                {{/canChange}}
              </td>
            </tr>
            {{/drains}}
            </tbody>
          </table>
          {{/hasDrains}}
        </section>
        {{#canChange}}
        <section class="card" id="form">
          {{#form.editing}}<h2>Edit log drain {{form.currentName}}</h2>{{/form.editing}}
          {{^form.editing}}<h2>Create log drain</h2>{{/form.editing}}
          <form method="post" action="{{form.action}}">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <label for="name">Name</label>
            <input id="name" name="name" value="{{form.name}}" maxlength="100" {{^form.editing}}required{{/form.editing}}>
            <label for="url">Endpoint URL</label>
            <input id="url" name="url" type="url" value="{{form.url}}" placeholder="{{form.urlPlaceholder}}" {{^form.editing}}required{{/form.editing}}>
            <label for="secret">Secret</label>
            <input id="secret" name="secret" type="password" value="{{form.secret}}" autocomplete="new-password"
                   placeholder="{{form.secretPlaceholder}}">
            <label for="sampling_rate">Sampling rate</label>
            <input id="sampling_rate" name="sampling_rate" type="number" min="\(Limits.samplingRates.lowerBound)" max="\(Limits.maxSamplingRate)" value="{{form.samplingRate}}">
            <p class="hint">Sampling rate: the most log lines in one delivery batch (\(Limits.samplingRates.lowerBound)–\(Limits.maxSamplingRate)). The secret is at least 64 characters; it signs
               every batch (<code>X-Fal-Signature</code>) and is never shown again.</p>
            {{^form.editing}}
            <label class="check"><input type="checkbox" id="disabled" name="disabled" value="1" {{#form.disabled}}checked{{/form.disabled}}> Create disabled</label>
            {{/form.editing}}
            <div class="buttons">
              <button type="submit" name="action" value="test">Test</button>
              <button type="submit" name="action" value="save" class="primary">Save</button>
              {{#form.editing}}<a href="/" class="button">Cancel</a>{{/form.editing}}
            </div>
          </form>
        </section>
        {{/canChange}}
        {{^canChange}}<p class="hint">You are a member of this account: you can see its drains; an admin changes them.</p>{{/canChange}}
        {{> layoutEnd}}
        """

    static let confirmDelete = """
        {{> layoutStart}}
        <section class="card narrow">
          <h1>Delete log drain {{drain.name}}?</h1>
          <p>Deliveries to <span class="url">{{drain.url}}</span> stop at once. This cannot be undone.</p>
          <form method="post" action="/drains/{{drain.id}}/delete">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <button type="submit" class="danger">Delete</button>
            <a href="/" class="button">Cancel</a>
          </form>
        </section>
        {{> layoutEnd}}
        """

    static let errorPage = """
        {{> layoutStart}}
        <p><a href="/" class="button">Back to the dashboard</a></p>
        {{> layoutEnd}}
        """

    static let stylesheet = """
        :root { --ink: #1d2330; --muted: #5b6577; --line: #e3e7ee; --accent: #4b3fd1; --bad: #b42318; --good: #067647; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #f6f7fb; }
        header.top { display: flex; align-items: center; gap: 1rem; padding: .8rem 2rem; background: #fff; border-bottom: 1px solid var(--line); }
        .brand { font-weight: 700; font-size: 1.1rem; color: var(--accent); margin-right: auto; }
        .who { color: var(--muted); }
        main { max-width: 1200px; margin: 1.5rem auto; padding: 0 2rem; }
        .card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 1.2rem 1.5rem; margin-bottom: 1.5rem; }
        .narrow { max-width: 520px; }
        h1 { font-size: 1.4rem; margin: 0 0 .5rem; } h2 { font-size: 1.15rem; margin: 0 0 .8rem; }
        table { width: 100%; border-collapse: collapse; font-size: .92rem; }
        th, td { text-align: left; padding: .55rem .5rem; border-bottom: 1px solid var(--line); vertical-align: middle; }
        th { color: var(--muted); font-weight: 600; font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; }
        td.url, span.url { font-family: ui-monospace, monospace; font-size: .85rem; word-break: break-all; }
        td.lasterror { color: var(--bad); max-width: 16rem; }
        td.num { text-align: right; }
        .status { padding: .1rem .5rem; border-radius: 999px; font-size: .8rem; font-weight: 600; white-space: nowrap; }
        .status.enabled { background: #dcfae6; color: var(--good); }
        .status.disabled { background: #eef0f4; color: var(--muted); }
        .status.failed { background: #fee4e2; color: var(--bad); }
        .status.failing { background: #fef0c7; color: #93370d; }
        label { display: block; font-weight: 600; margin: .8rem 0 .25rem; }
        label.check { font-weight: 400; }
        input[type=text], input:not([type]), input[type=url], input[type=password], input[type=number] {
          width: 100%; max-width: 36rem; padding: .5rem .6rem; border: 1px solid #c9cfda; border-radius: 6px; font: inherit; }
        .buttons { display: flex; gap: .6rem; margin-top: 1rem; }
        button, a.button { display: inline-block; padding: .4rem .9rem; border: 1px solid #c9cfda; border-radius: 6px; background: #fff;
          color: var(--ink); font: inherit; cursor: pointer; text-decoration: none; }
        button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
        button.danger, a.button.danger { color: var(--bad); border-color: #f4b4ae; }
        button.link { border: 0; background: none; color: var(--accent); padding: 0; }
        form.inline { display: inline; }
        td.actions { white-space: nowrap; }
        td.actions > * { margin-right: .3rem; }
        .notice, .error { padding: .7rem 1rem; border-radius: 8px; }
        .notice { background: #dcfae6; color: var(--good); }
        .error { background: #fee4e2; color: var(--bad); }
        .hint, .empty { color: var(--muted); font-size: .9rem; }
        code { font-size: .85rem; background: #eef0f4; padding: .05rem .3rem; border-radius: 4px; }
        """
}
