import HTTPTypes
import Hummingbird
import NIOCore

/// The dashboard's stylesheet and script, served from the gateway itself (no CDN, no
/// build step). The script only opens the live feed and swaps fragments; every page works
/// without it, minus the live updates.
enum PortalAssets {
    static func register(on router: Router<GatewayContext>) {
        router.get("/assets/portal.css") { _, _ in asset(css, type: "text/css; charset=utf-8") }
        router.get("/assets/portal.js") { _, _ in asset(javascript, type: "text/javascript; charset=utf-8") }
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers = Portal.securityHeaders
        headers[.contentType] = type
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static let javascript = #"""
        "use strict";
        // Live updates: one EventSource per page; the server sends whole fragments of HTML
        // that it rendered and escaped, and this swaps them in place.
        (function () {
          var source = document.body.getAttribute("data-live");
          var status = document.getElementById("live-status");
          if (!source || !window.EventSource) { return; }
          var stream;
          function say(text) { if (status && status.textContent !== text) { status.textContent = text; } }
          function apply(event) {
            var fragment = JSON.parse(event.data);
            var target = document.getElementById(fragment.id);
            if (!target) { return; }
            var focused = document.activeElement;
            var focusID = focused && target.contains(focused) ? focused.id : "";
            target.innerHTML = fragment.html;
            if (focusID) {
              var again = document.getElementById(focusID);
              if (again) { again.focus(); }
            }
            document.body.setAttribute("data-updated", String(Date.now()));
          }
          function connect() {
            stream = new EventSource(source);
            stream.onopen = function () { say("Live"); };
            stream.addEventListener("fragment", apply);
            stream.addEventListener("problem", function (event) {
              say("Live, but the control plane answered: " + JSON.parse(event.data).message);
            });
            stream.addEventListener("expired", function () {
              stream.close();
              window.location.href = "/login?expired=1&next=" + encodeURIComponent(location.pathname + location.search);
            });
            stream.onerror = function () {
              say("Reconnecting…");
              if (stream.readyState === EventSource.CLOSED) { setTimeout(connect, 3000); }
            };
          }
          connect();
        })();
        """#

    static let css = #"""
        :root {
          --bg: #ffffff; --surface: #f4f5f7; --text: #1a1a1a; --muted: #4a4f57; --border: #c4c8ce;
          --link: #0b57d0; --focus: #0b57d0; --primary: #0b57d0; --primary-text: #ffffff;
          --danger: #b3261e; --danger-text: #ffffff;
          --good-bg: #e6f4ea; --good: #0d652d; --busy-bg: #fef7e0; --busy: #6b4500;
          --bad-bg: #fce8e6; --bad: #a50e0e; --plain-bg: #eceef1; --plain: #33373d;
          --s1: #1a73e8; --s2: #b05a00; --s3: #188038; --s4: #d93025; --s5: #7b1fa2;
          color-scheme: light dark;
        }
        @media (prefers-color-scheme: dark) {
          :root {
            --bg: #121417; --surface: #1d2025; --text: #e8eaed; --muted: #b4b9c0; --border: #4a4f57;
            --link: #8ab4f8; --focus: #8ab4f8; --primary: #8ab4f8; --primary-text: #0b1a33;
            --danger: #f28b82; --danger-text: #3b0905;
            --good-bg: #0f3d23; --good: #a8dab5; --busy-bg: #4a3800; --busy: #fde293;
            --bad-bg: #5c1010; --bad: #f6aea9; --plain-bg: #2c3036; --plain: #dadce0;
            --s1: #8ab4f8; --s2: #fcad70; --s3: #81c995; --s4: #f28b82; --s5: #d7aefb;
          }
        }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
          background: var(--bg); color: var(--text); }
        a { color: var(--link); }
        :focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
        .skip { position: absolute; left: -999px; top: 0; background: var(--bg); padding: .5rem; }
        .skip:focus { left: .5rem; z-index: 10; }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
        header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem;
          padding: .5rem 1.25rem; background: var(--surface); border-bottom: 1px solid var(--border); }
        .brand { font-weight: 700; font-size: 1.15rem; text-decoration: none; color: var(--text); }
        nav ul { display: flex; flex-wrap: wrap; gap: .25rem; list-style: none; margin: 0; padding: 0; }
        nav a { display: block; padding: .35rem .6rem; border-radius: 6px; text-decoration: none; color: var(--text); }
        nav a:hover { background: var(--plain-bg); }
        nav a[aria-current="page"] { background: var(--primary); color: var(--primary-text); }
        .account { margin-left: auto; display: flex; gap: .75rem; align-items: center; color: var(--muted); }
        main { padding: 1rem 1.25rem 3rem; max-width: 1400px; }
        body.bare main { max-width: 34rem; margin: 3rem auto; }
        h1 { font-size: 1.5rem; margin: .25rem 0 1rem; }
        h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
        footer { position: fixed; bottom: 0; right: 0; padding: .25rem .75rem; color: var(--muted);
          background: var(--surface); border-top-left-radius: 6px; font-size: .85rem; }
        .flash { padding: .6rem .8rem; border-radius: 6px; margin: 0 0 1rem; }
        .flash.ok { background: var(--good-bg); color: var(--good); }
        .flash.error { background: var(--bad-bg); color: var(--bad); }
        .table-wrap { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--border); vertical-align: top; }
        th { color: var(--muted); font-weight: 600; }
        td.num, th.num { text-align: right; }
        .badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .85rem; font-weight: 600; }
        .badge.good { background: var(--good-bg); color: var(--good); }
        .badge.busy { background: var(--busy-bg); color: var(--busy); }
        .badge.bad { background: var(--bad-bg); color: var(--bad); }
        .badge.plain { background: var(--plain-bg); color: var(--plain); }
        .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); gap: .75rem; margin: 0 0 1rem; }
        .card { background: var(--surface); border: 1px solid var(--border); border-radius: 8px; padding: .75rem; }
        .card dt { color: var(--muted); font-size: .9rem; }
        .card dd { margin: .25rem 0 0; }
        .figure { font-size: 1.6rem; font-weight: 700; }
        .detail { color: var(--muted); }
        .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(26rem, 1fr)); gap: 1rem; }
        .chart { margin: 0; background: var(--surface); border: 1px solid var(--border); border-radius: 8px; padding: .75rem; }
        .chart figcaption { font-weight: 600; margin-bottom: .25rem; }
        .chart svg { width: 100%; height: 170px; display: block; }
        .chart .grid { stroke: var(--border); stroke-width: 1; }
        .chart .axis { fill: var(--muted); font-size: 11px; }
        .chart .line { fill: none; stroke-width: 2; vector-effect: non-scaling-stroke; }
        .series-1 { stroke: var(--s1); background: var(--s1); } .series-2 { stroke: var(--s2); background: var(--s2); }
        .series-3 { stroke: var(--s3); background: var(--s3); } .series-4 { stroke: var(--s4); background: var(--s4); }
        .series-5 { stroke: var(--s5); background: var(--s5); }
        .legend { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; padding: 0; margin: .25rem 0 0; font-size: .9rem; }
        .swatch { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; margin-right: .3rem; vertical-align: -1px; }
        form.inline { display: inline; }
        form.stack { display: grid; gap: .6rem; max-width: 36rem; }
        nav.pager { display: flex; flex-wrap: wrap; gap: .75rem; align-items: baseline; margin: .25rem 0 .75rem; }
        nav.pager p { margin: 0; }
        nav.pager a { display: inline; padding: .2rem .4rem; }
        th a { color: inherit; text-decoration: none; }
        th a:hover, th a:focus { text-decoration: underline; }
        form.filters { display: flex; flex-wrap: wrap; gap: .6rem; align-items: end; margin-bottom: 1rem; }
        fieldset { border: 1px solid var(--border); border-radius: 8px; padding: .75rem; margin: 0; }
        label { display: grid; gap: .2rem; font-weight: 600; }
        label.check { display: flex; gap: .4rem; font-weight: 400; align-items: center; }
        input, select, textarea, button, .button { font: inherit; color: var(--text); background: var(--bg);
          border: 1px solid var(--border); border-radius: 6px; padding: .35rem .55rem; }
        textarea { font-family: ui-monospace, monospace; min-height: 6rem; }
        button, .button { cursor: pointer; background: var(--surface); text-decoration: none; display: inline-block; }
        button.primary { background: var(--primary); color: var(--primary-text); border-color: var(--primary); }
        button.danger { background: var(--danger); color: var(--danger-text); border-color: var(--danger); }
        button.link { background: none; border: none; color: var(--link); text-decoration: underline; padding: 0; }
        .actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
        .panels { display: grid; grid-template-columns: repeat(auto-fill, minmax(22rem, 1fr)); gap: 1rem; }
        .panel { background: var(--surface); border: 1px solid var(--border); border-radius: 8px; padding: .75rem 1rem; }
        .panel h2 { margin-top: 0; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
        dl.facts dt { color: var(--muted); }
        dl.facts dd { margin: 0; overflow-wrap: anywhere; }
        pre.log { background: var(--surface); border: 1px solid var(--border); border-radius: 6px; padding: .75rem;
          max-height: 28rem; overflow: auto; white-space: pre-wrap; }
        .confirm .question { font-size: 1.1rem; }
        .empty { color: var(--muted); }
        .secret { font-family: ui-monospace, monospace; overflow-wrap: anywhere; background: var(--surface);
          border: 1px solid var(--border); padding: .5rem; border-radius: 6px; }
        progress { width: 8rem; }
        """#
}
