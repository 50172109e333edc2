/* Daybreak console: the case's entity graph, explorable.
 *
 * The server draws the graph as SVG with a starting layout, so it reads without this
 * script. This script makes it explorable the way link-analysis tools are: start from
 * the case's subject, expand an entity's neighbours (fetched from the case's
 * neighbours route, which reads the case like the page does: the analyst's
 * organisation only, audited) and collapse them, collapse the leaves of hubs into one
 * node, find the shortest path between two entities, filter links by relation and by
 * time, drag or move entities with the arrow keys, zoom, and re-run a small force
 * layout. Labels are placed so that none overlaps another or an entity (a label that
 * fits nowhere shows on focus). Every action is keyboard operable and announced in a
 * status region. No libraries; DOM APIs and textContent only.
 */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var HUB_LEAVES = 6; // a node with this many leaf neighbours collapses into a group
  var svg = document.getElementById("case-graph");
  if (!svg) {
    return;
  }
  var W = Number(svg.getAttribute("data-width"));
  var H = Number(svg.getAttribute("data-height"));
  var neighboursUrl = svg.getAttribute("data-neighbours-url");
  var subjectKey = svg.getAttribute("data-subject") || "";
  var viewport = svg.querySelector(".viewport");
  var edgeLayer = svg.querySelector("g.edges");
  var nodeLayer = svg.querySelector("g.nodes");
  var detail = document.getElementById("graph-detail");
  var statusEl = document.getElementById("graph-status");
  var toolbar = document.querySelector(".graph-toolbar");
  var filters = document.querySelector(".graph-filters");
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  var nodes = new Map();
  var edges = new Map(); // "source|target|relation" -> edge
  var list = [];
  var view = { scale: 1, tx: 0, ty: 0 };
  var selected = null;
  var pathStart = null;
  var running = 0;
  var groupsOn = false;
  var hiddenRelations = new Set();
  var windowFrom = "";
  var windowTo = "";

  function clamp(v, lo, hi) {
    return Math.max(lo, Math.min(hi, v));
  }

  function say(text) {
    if (statusEl) {
      statusEl.textContent = text;
    }
  }

  function kindName(n) {
    return n.kind.replace(/_/g, " ");
  }

  function nameOf(n) {
    return n.group ? n.label : kindName(n) + " " + n.label;
  }

  /* --- the model: nodes and edges, from the server's SVG and from expansions --- */

  function addNode(el) {
    var key = el.getAttribute("data-key");
    var dot = el.querySelector("circle.dot");
    var n = {
      el: el,
      key: key,
      kind: el.getAttribute("data-kind"),
      label: el.getAttribute("data-label"),
      x: Number(el.getAttribute("data-x")),
      y: Number(el.getAttribute("data-y")),
      vx: 0,
      vy: 0,
      links: [],
      hidden: false,
      group: el.classList.contains("group"),
      members: [],
      labelEl: el.querySelector("text.label"),
      radius: dot ? Number(dot.getAttribute("r")) : 8,
    };
    nodes.set(key, n);
    list.push(n);
    wire(n);
    return n;
  }

  function addEdge(el) {
    var s = nodes.get(el.getAttribute("data-source"));
    var t = nodes.get(el.getAttribute("data-target"));
    var relation = el.getAttribute("data-relation");
    if (!s || !t) {
      return null;
    }
    var id = s.key + "|" + t.key + "|" + relation;
    if (edges.has(id)) {
      return edges.get(id);
    }
    var edge = {
      el: el,
      s: s,
      t: t,
      relation: relation,
      count: el.getAttribute("data-count"),
      first: el.getAttribute("data-first") || "",
      last: el.getAttribute("data-last") || "",
    };
    s.links.push(edge);
    t.links.push(edge);
    edges.set(id, edge);
    return edge;
  }

  function svgEl(name, attrs) {
    var el = document.createElementNS(SVG_NS, name);
    Object.keys(attrs).forEach(function (k) {
      el.setAttribute(k, attrs[k]);
    });
    return el;
  }

  /* A node the server did not draw (an expansion, a collapsed group). */
  function createNode(data, x, y) {
    var g = svgEl("g", {
      class: "node" + (data.alerted ? " alerted" : "") + (data.group ? " group" : ""),
      tabindex: "0",
      role: "button",
      "data-key": data.key,
      "data-kind": data.kind,
      "data-label": data.label,
      "data-x": x.toFixed(1),
      "data-y": y.toFixed(1),
      "data-colour": data.colour || "",
      "data-alerted": data.alerted ? "true" : "false",
      transform: "translate(" + x.toFixed(1) + "," + y.toFixed(1) + ")",
    });
    var label = data.group ? data.label : data.kind.replace(/_/g, " ") + " " + data.label;
    g.setAttribute("aria-label", label + (data.alerted ? ", alerted" : "") + (data.group ? ", press Enter to show them" : ""));
    if (data.alerted) {
      g.appendChild(svgEl("circle", { class: "halo", r: "12" }));
    }
    g.appendChild(svgEl("circle", { class: "dot", r: data.group ? "11" : "8", fill: data.colour || "#fff" }));
    var text = svgEl("text", { class: "label", x: "12", y: "4" });
    text.textContent = data.label.length > 26 ? data.label.slice(0, 25) + "\u2026" : data.label;
    g.appendChild(text);
    nodeLayer.appendChild(g);
    return addNode(g);
  }

  function createEdge(data) {
    var id = data.source + "|" + data.target + "|" + data.relation;
    if (edges.has(id) || !nodes.has(data.source) || !nodes.has(data.target)) {
      return edges.get(id) || null;
    }
    var line = svgEl("line", {
      class: "edge rel-" + data.relation,
      "data-source": data.source,
      "data-target": data.target,
      "data-relation": data.relation,
      "data-count": String(data.count || 1),
      "data-first": data.first_seen || "",
      "data-last": data.last_seen || "",
      "stroke-width": String(Math.min(1 + Math.sqrt(Number(data.count || 1)), 6).toFixed(1)),
    });
    var title = svgEl("title", {});
    title.textContent = data.source + " " + data.relation + " " + data.target;
    line.appendChild(title);
    edgeLayer.appendChild(line);
    return addEdge(line);
  }

  Array.prototype.forEach.call(svg.querySelectorAll("g.node"), addNode);
  Array.prototype.forEach.call(svg.querySelectorAll("line.edge"), addEdge);

  /* --- what is shown: hidden nodes, relation and time filters ---------------------- */

  function inWindow(e) {
    if (!e.first && !e.last) {
      return true; // a link without a time is always shown
    }
    if (windowFrom && (e.last || e.first) < windowFrom) {
      return false;
    }
    if (windowTo && (e.first || e.last) > windowTo) {
      return false;
    }
    return true;
  }

  function edgeShown(e) {
    return !e.s.hidden && !e.t.hidden && !hiddenRelations.has(e.relation) && inWindow(e);
  }

  function shownLinks(n) {
    return n.links.filter(edgeShown);
  }

  function neighbour(e, n) {
    return e.s === n ? e.t : e.s;
  }

  function refresh() {
    list.forEach(function (n) {
      if (n.hidden) {
        n.el.setAttribute("display", "none");
        n.el.setAttribute("tabindex", "-1");
      } else {
        n.el.removeAttribute("display");
        n.el.setAttribute("tabindex", "0");
      }
    });
    edges.forEach(function (e) {
      if (edgeShown(e)) {
        e.el.removeAttribute("display");
      } else {
        e.el.setAttribute("display", "none");
      }
    });
    drawAll();
    placeLabels();
  }

  function counts() {
    var n = list.filter(function (m) { return !m.hidden; }).length;
    var e = 0;
    edges.forEach(function (x) {
      if (edgeShown(x)) {
        e += 1;
      }
    });
    return n + " entit" + (n === 1 ? "y" : "ies") + " and " + e + " link" + (e === 1 ? "" : "s") + " shown";
  }

  /* --- drawing and layout ------------------------------------------------------ */

  function drawNode(n) {
    n.el.setAttribute("transform", "translate(" + n.x.toFixed(1) + "," + n.y.toFixed(1) + ")");
    n.links.forEach(function (e) {
      e.el.setAttribute("x1", e.s.x.toFixed(1));
      e.el.setAttribute("y1", e.s.y.toFixed(1));
      e.el.setAttribute("x2", e.t.x.toFixed(1));
      e.el.setAttribute("y2", e.t.y.toFixed(1));
    });
  }

  function drawAll() {
    list.forEach(drawNode);
  }

  /* Labels: the most important entities first (subject, alerted, best connected), each
   * on the first side (right, left, above, below) where it overlaps no label placed
   * before and no entity; a label that fits nowhere is hidden until its entity has
   * focus (its name is in the entity's accessible name either way). */
  function placeLabels() {
    var shown = list.filter(function (n) { return !n.hidden && n.labelEl; });
    shown.sort(function (a, b) {
      var pa = (a.key === subjectKey ? 0 : 2) + (a.el.classList.contains("alerted") ? 0 : 1);
      var pb = (b.key === subjectKey ? 0 : 2) + (b.el.classList.contains("alerted") ? 0 : 1);
      return pa - pb || shownLinks(b).length - shownLinks(a).length || (a.key < b.key ? -1 : 1);
    });
    var boxes = shown.map(function (n) {
      return { x1: n.x - n.radius, y1: n.y - n.radius, x2: n.x + n.radius, y2: n.y + n.radius, owner: n };
    });
    var placed = [];
    function hits(b) {
      return boxes.some(function (o) {
        return o.owner !== b.owner && b.x1 < o.x2 && b.x2 > o.x1 && b.y1 < o.y2 && b.y2 > o.y1;
      }) || placed.some(function (o) {
        return b.x1 < o.x2 && b.x2 > o.x1 && b.y1 < o.y2 && b.y2 > o.y1;
      });
    }
    shown.forEach(function (n) {
      var text = n.labelEl;
      text.classList.remove("label-hidden");
      var w = text.getComputedTextLength ? text.getComputedTextLength() : text.textContent.length * 7;
      var h = 14;
      var r = n.radius + 3;
      var options = [
        { dx: r, dy: 4, anchor: "start", x1: n.x + r, y1: n.y - h / 2 },
        { dx: -r, dy: 4, anchor: "end", x1: n.x - r - w, y1: n.y - h / 2 },
        { dx: 0, dy: -r - 3, anchor: "middle", x1: n.x - w / 2, y1: n.y - r - h },
        { dx: 0, dy: r + 12, anchor: "middle", x1: n.x - w / 2, y1: n.y + r },
      ];
      var chosen = null;
      for (var i = 0; i < options.length && !chosen; i++) {
        var o = options[i];
        var box = { x1: o.x1 - 1, y1: o.y1 - 1, x2: o.x1 + w + 1, y2: o.y1 + h + 1, owner: n };
        if (!hits(box)) {
          chosen = o;
          placed.push(box);
        }
      }
      if (chosen) {
        text.setAttribute("x", chosen.dx.toFixed(1));
        text.setAttribute("y", chosen.dy.toFixed(1));
        text.setAttribute("text-anchor", chosen.anchor);
      } else {
        text.classList.add("label-hidden");
        text.setAttribute("x", r.toFixed(1));
        text.setAttribute("y", "4");
        text.setAttribute("text-anchor", "start");
      }
    });
  }

  function applyView() {
    viewport.setAttribute(
      "transform",
      "translate(" + view.tx.toFixed(1) + "," + view.ty.toFixed(1) + ") scale(" + view.scale.toFixed(3) + ")"
    );
  }

  /* One step of a Fruchterman-Reingold style simulation over what is shown. */
  function step(temperature) {
    var shown = list.filter(function (n) { return !n.hidden; });
    var k = Math.sqrt((W * H) / Math.max(shown.length, 1)) * 0.6;
    var i, j, a, b, dx, dy, d, f;
    for (i = 0; i < shown.length; i++) {
      shown[i].vx = (W / 2 - shown[i].x) * 0.05;
      shown[i].vy = (H / 2 - shown[i].y) * 0.05;
    }
    for (i = 0; i < shown.length; i++) {
      a = shown[i];
      for (j = i + 1; j < shown.length; j++) {
        b = shown[j];
        dx = a.x - b.x;
        dy = a.y - b.y;
        d = Math.max(Math.sqrt(dx * dx + dy * dy), 0.01);
        f = (k * k) / d;
        a.vx += (dx / d) * f;
        a.vy += (dy / d) * f;
        b.vx -= (dx / d) * f;
        b.vy -= (dy / d) * f;
      }
    }
    edges.forEach(function (e) {
      if (!edgeShown(e)) {
        return;
      }
      dx = e.s.x - e.t.x;
      dy = e.s.y - e.t.y;
      d = Math.max(Math.sqrt(dx * dx + dy * dy), 0.01);
      f = (d * d) / k;
      e.s.vx -= (dx / d) * f;
      e.s.vy -= (dy / d) * f;
      e.t.vx += (dx / d) * f;
      e.t.vy += (dy / d) * f;
    });
    shown.forEach(function (n) {
      if (n.pinned) {
        return;
      }
      var len = Math.max(Math.sqrt(n.vx * n.vx + n.vy * n.vy), 0.01);
      var s = Math.min(len, temperature);
      n.x = clamp(n.x + (n.vx / len) * s, 40, W - 40);
      n.y = clamp(n.y + (n.vy / len) * s, 30, H - 30);
    });
  }

  function relayout() {
    var token = ++running;
    var temperature = W / 10;
    var rounds = 150;
    if (reduceMotion) {
      while (rounds-- > 0) {
        step(temperature);
        temperature *= 0.96;
      }
      drawAll();
      placeLabels();
      return;
    }
    function frame() {
      if (token !== running) {
        return;
      }
      if (rounds-- <= 0) {
        placeLabels();
        return;
      }
      step(temperature);
      temperature *= 0.96;
      drawAll();
      window.requestAnimationFrame(frame);
    }
    window.requestAnimationFrame(frame);
  }

  /* --- selection and the detail panel ------------------------------------------ */

  function actionButton(text, handler) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.addEventListener("click", handler);
    return b;
  }

  function select(n) {
    selected = n;
    list.forEach(function (m) {
      m.el.classList.remove("selected", "neighbour");
      m.el.setAttribute("aria-pressed", m === n ? "true" : "false");
    });
    edges.forEach(function (e) {
      e.el.classList.toggle("active", Boolean(n) && (e.s === n || e.t === n));
    });
    svg.classList.toggle("has-selection", Boolean(n));
    while (detail.firstChild) {
      detail.removeChild(detail.firstChild);
    }
    if (!n) {
      var p = document.createElement("p");
      p.className = "hint";
      p.textContent = "Select an entity to see its links.";
      detail.appendChild(p);
      return;
    }
    n.el.classList.add("selected");
    var h = document.createElement("h3");
    h.textContent = n.group ? n.label : kindName(n) + ": " + n.label;
    var key = document.createElement("p");
    key.className = "mono small";
    key.textContent = n.group ? "collapsed neighbours of " + n.hub.key : n.key;
    detail.appendChild(h);
    detail.appendChild(key);
    var actions = document.createElement("p");
    actions.className = "graph-actions";
    if (n.group) {
      actions.appendChild(actionButton("Show them", function () { openGroup(n); }));
    } else {
      actions.appendChild(actionButton("Expand neighbours", function () { expand(n); }));
      actions.appendChild(actionButton("Collapse neighbours", function () { collapse(n); }));
      actions.appendChild(
        actionButton(pathStart && pathStart !== n ? "Path to here" : "Path from here", function () { pathStep(n); })
      );
    }
    detail.appendChild(actions);
    var ul = document.createElement("ul");
    ul.className = "links";
    shownLinks(n).forEach(function (e) {
      var other = neighbour(e, n);
      other.el.classList.add("neighbour");
      var li = document.createElement("li");
      var dir = e.s === n ? e.relation + " \u2192 " : "\u2190 " + e.relation + " ";
      li.appendChild(document.createTextNode(dir + (Number(e.count) > 1 ? "(" + e.count + "\u00d7) " : "")));
      var b = document.createElement("button");
      b.type = "button";
      b.className = "button-link";
      b.textContent = nameOf(other);
      b.addEventListener("click", function () {
        select(other);
        other.el.focus();
      });
      li.appendChild(b);
      ul.appendChild(li);
    });
    if (!ul.firstChild) {
      var none = document.createElement("li");
      none.textContent = "No links shown.";
      ul.appendChild(none);
    }
    detail.appendChild(ul);
  }

  /* --- expand and collapse -------------------------------------------------------- */

  function expand(n) {
    if (!neighboursUrl || n.group) {
      return;
    }
    say("Loading the neighbours of " + nameOf(n) + "\u2026");
    fetch(neighboursUrl + "?key=" + encodeURIComponent(n.key), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) {
            throw new Error(body.error || "the server said " + r.status);
          }
          return body;
        });
      })
      .then(function (body) {
        var added = 0;
        var again = 0;
        body.nodes.forEach(function (data, i) {
          var m = nodes.get(data.key);
          if (!m) {
            var angle = (2 * Math.PI * i) / Math.max(body.nodes.length, 1);
            createNode(data, clamp(n.x + Math.cos(angle) * 70, 20, W - 20), clamp(n.y + Math.sin(angle) * 70, 20, H - 20));
            added += 1;
          } else if (m.hidden && !m.inGroup) {
            m.hidden = false;
            again += 1;
          }
        });
        body.edges.forEach(createEdge);
        refresh();
        if (selected === n) {
          select(n);
        }
        var more = body.more ? "; " + body.more + " more not loaded" : "";
        say("Expanded " + nameOf(n) + ": " + added + " new, " + again + " shown again" + more + ". " + counts() + ".");
      })
      .catch(function (err) {
        say("Could not expand " + nameOf(n) + ": " + err.message);
      });
  }

  /* Hide the neighbours whose only shown links are to ``n`` (never the subject). */
  function collapse(n) {
    var gone = 0;
    shownLinks(n).forEach(function (e) {
      var m = neighbour(e, n);
      if (m.key === subjectKey || m.hidden) {
        return;
      }
      var elsewhere = shownLinks(m).some(function (x) { return neighbour(x, m) !== n; });
      if (!elsewhere) {
        m.hidden = true;
        gone += 1;
      }
    });
    refresh();
    if (selected === n) {
      select(n);
    }
    say("Collapsed " + nameOf(n) + ": " + gone + " neighbour" + (gone === 1 ? "" : "s") + " hidden. " + counts() + ".");
  }

  /* --- hubs collapsed into one node each ------------------------------------------ */

  function leavesOf(n) {
    return shownLinks(n)
      .map(function (e) { return neighbour(e, n); })
      .filter(function (m, i, all) {
        return all.indexOf(m) === i && !m.group && m.key !== subjectKey && shownLinks(m).length === 1;
      });
  }

  function collapseHubs() {
    var made = 0;
    list.slice().forEach(function (n) {
      if (n.hidden || n.group) {
        return;
      }
      var leaves = leavesOf(n);
      if (leaves.length < HUB_LEAVES) {
        return;
      }
      var kinds = {};
      leaves.forEach(function (m) {
        kinds[kindName(m)] = (kinds[kindName(m)] || 0) + 1;
      });
      var what = Object.keys(kinds).sort().map(function (k) { return kinds[k] + " " + k; }).join(", ");
      var g = createNode({ key: "group:" + n.key, kind: "group", label: leaves.length + " linked: " + what, group: true }, n.x + 40, n.y + 40);
      g.hub = n;
      g.members = leaves;
      leaves.forEach(function (m) {
        m.hidden = true;
        m.inGroup = g;
      });
      createEdge({ source: n.key, target: g.key, relation: "group", count: leaves.length });
      made += 1;
    });
    refresh();
    return made;
  }

  function openGroup(g) {
    g.members.forEach(function (m) {
      m.hidden = false;
      m.inGroup = null;
    });
    removeNode(g);
    refresh();
    if (selected === g) {
      select(g.hub);
    }
    g.hub.el.focus(); // the group is gone: focus goes to its hub, not to the page top
    say("Showing the " + g.members.length + " entities collapsed into " + nameOf(g.hub) + ". " + counts() + ".");
  }

  function removeNode(n) {
    n.links.slice().forEach(function (e) {
      var other = neighbour(e, n);
      other.links = other.links.filter(function (x) { return x !== e; });
      edges.delete(e.s.key + "|" + e.t.key + "|" + e.relation);
      e.el.remove();
    });
    nodes.delete(n.key);
    list = list.filter(function (m) { return m !== n; });
    n.el.remove();
  }

  function expandHubs() {
    groupsOn = false;
    var button = toolbar && toolbar.querySelector('[data-graph="hubs"]');
    if (button) {
      button.setAttribute("aria-pressed", "false");
    }
    list.filter(function (n) { return n.group; }).forEach(function (g) {
      g.members.forEach(function (m) {
        m.hidden = false;
        m.inGroup = null;
      });
      removeNode(g);
    });
    refresh();
  }

  /* --- shortest path -------------------------------------------------------------- */

  function clearPath() {
    list.forEach(function (n) {
      n.el.classList.remove("on-path", "path-start");
    });
    edges.forEach(function (e) {
      e.el.classList.remove("on-path");
    });
  }

  function shortestPath(a, b) {
    var prev = new Map([[a, null]]);
    var queue = [a];
    while (queue.length) {
      var n = queue.shift();
      if (n === b) {
        break;
      }
      shownLinks(n).forEach(function (e) {
        var m = neighbour(e, n);
        if (!prev.has(m)) {
          prev.set(m, e);
          queue.push(m);
        }
      });
    }
    if (!prev.has(b)) {
      return null;
    }
    var path = [];
    var at = b;
    while (prev.get(at)) {
      var e = prev.get(at);
      path.unshift(e);
      at = neighbour(e, at);
    }
    return path;
  }

  function pathStep(n) {
    if (!pathStart || pathStart === n) {
      clearPath();
      pathStart = n;
      n.el.classList.add("path-start");
      say("Path from " + nameOf(n) + ": now choose the other entity and press P (or Path to here).");
      if (selected === n) {
        select(n);
      }
      return;
    }
    var from = pathStart;
    pathStart = null;
    clearPath();
    var path = shortestPath(from, n);
    if (!path) {
      say("No path between " + nameOf(from) + " and " + nameOf(n) + " in the links shown.");
      return;
    }
    var names = [nameOf(from)];
    var at = from;
    from.el.classList.add("on-path");
    path.forEach(function (e) {
      e.el.classList.add("on-path");
      at = neighbour(e, at);
      at.el.classList.add("on-path");
      names.push(e.relation + " " + nameOf(at));
    });
    say("Shortest path, " + path.length + " link" + (path.length === 1 ? "" : "s") + ": " + names.join(" \u2192 ") + ".");
  }

  /* --- start from the subject ------------------------------------------------------- */

  function startFromSubject() {
    var s = nodes.get(subjectKey);
    if (!s) {
      say("This case names no subject.");
      return;
    }
    expandHubs();
    var keep = new Set([s]);
    s.links.forEach(function (e) {
      keep.add(neighbour(e, s));
    });
    list.forEach(function (n) {
      n.hidden = !keep.has(n);
    });
    refresh();
    select(s);
    s.el.focus();
    say("Showing the subject, " + nameOf(s) + ", and its neighbours. " + counts() + ". Press E on an entity to expand it.");
  }

  function showAll() {
    expandHubs();
    list.forEach(function (n) {
      n.hidden = false;
      n.inGroup = null;
    });
    refresh();
    say("Showing everything drawn. " + counts() + ".");
  }

  /* --- input: keyboard and pointer on each entity --------------------------------- */

  /* Pointer position in graph coordinates (undoing the zoom/pan transform). */
  function toGraph(evt) {
    var pt = svg.createSVGPoint();
    pt.x = evt.clientX;
    pt.y = evt.clientY;
    var p = pt.matrixTransform(viewport.getScreenCTM().inverse());
    return { x: p.x, y: p.y };
  }

  function wire(n) {
    n.el.setAttribute("aria-pressed", "false");
    n.el.addEventListener("keydown", function (evt) {
      var d = evt.shiftKey ? 40 : 10;
      var moves = { ArrowLeft: [-d, 0], ArrowRight: [d, 0], ArrowUp: [0, -d], ArrowDown: [0, d] };
      var key = evt.key.length === 1 ? evt.key.toLowerCase() : evt.key;
      if (moves[evt.key]) {
        n.x = clamp(n.x + moves[evt.key][0], 10, W - 10);
        n.y = clamp(n.y + moves[evt.key][1], 10, H - 10);
        n.pinned = true;
        drawNode(n);
        placeLabels();
        evt.preventDefault();
      } else if (evt.key === "Enter" || evt.key === " ") {
        if (n.group) {
          openGroup(n);
        } else {
          select(selected === n ? null : n);
        }
        evt.preventDefault();
      } else if (evt.key === "Escape") {
        select(null);
      } else if (key === "e" && !evt.ctrlKey && !evt.metaKey && !evt.altKey) {
        expand(n);
        evt.preventDefault();
      } else if (key === "c" && !evt.ctrlKey && !evt.metaKey && !evt.altKey) {
        collapse(n);
        evt.preventDefault();
      } else if (key === "p" && !evt.ctrlKey && !evt.metaKey && !evt.altKey) {
        pathStep(n);
        evt.preventDefault();
      }
    });
    var dragging = false;
    var moved = false;
    n.el.addEventListener("pointerdown", function (evt) {
      dragging = true;
      moved = false;
      n.el.setPointerCapture(evt.pointerId);
      evt.preventDefault();
    });
    n.el.addEventListener("pointermove", function (evt) {
      if (!dragging) {
        return;
      }
      var p = toGraph(evt);
      n.x = clamp(p.x, 10, W - 10);
      n.y = clamp(p.y, 10, H - 10);
      n.pinned = true;
      moved = true;
      drawNode(n);
    });
    n.el.addEventListener("pointerup", function (evt) {
      dragging = false;
      n.el.releasePointerCapture(evt.pointerId);
      if (moved) {
        placeLabels();
      } else if (n.group) {
        openGroup(n);
      } else {
        select(selected === n ? null : n);
        n.el.focus();
      }
    });
  }

  /* --- toolbar and filters ------------------------------------------------------- */

  if (toolbar) {
    toolbar.hidden = false;
    toolbar.addEventListener("click", function (evt) {
      var target = evt.target.closest ? evt.target.closest("button") : evt.target;
      var action = target && target.getAttribute("data-graph");
      if (action === "zoom-in" || action === "zoom-out") {
        var factor = action === "zoom-in" ? 1.25 : 0.8;
        var next = clamp(view.scale * factor, 0.4, 4);
        // Zoom about the centre of the picture.
        view.tx = W / 2 - ((W / 2 - view.tx) * next) / view.scale;
        view.ty = H / 2 - ((H / 2 - view.ty) * next) / view.scale;
        view.scale = next;
        applyView();
      } else if (action === "reset") {
        view = { scale: 1, tx: 0, ty: 0 };
        applyView();
      } else if (action === "relayout") {
        list.forEach(function (n) {
          n.pinned = false;
        });
        relayout();
      } else if (action === "subject") {
        startFromSubject();
      } else if (action === "show-all") {
        showAll();
      } else if (action === "hubs") {
        groupsOn = !groupsOn;
        target.setAttribute("aria-pressed", groupsOn ? "true" : "false");
        if (groupsOn) {
          var made = collapseHubs();
          say(made ? "Collapsed the leaves of " + made + " hub" + (made === 1 ? "" : "s") + " into one node each. " + counts() + "." : "No hub has " + HUB_LEAVES + " or more leaf neighbours.");
        } else {
          expandHubs();
          say("Hubs expanded again. " + counts() + ".");
        }
      }
    });
  }

  if (filters) {
    filters.hidden = false;
    filters.addEventListener("change", function (evt) {
      var el = evt.target;
      if (el.name === "graph-relation") {
        if (el.checked) {
          hiddenRelations.delete(el.value);
        } else {
          hiddenRelations.add(el.value);
        }
      } else if (el.id === "graph-from") {
        windowFrom = el.value;
      } else if (el.id === "graph-to") {
        windowTo = el.value;
      }
      refresh();
      if (selected) {
        select(selected);
      }
      var window_ = windowFrom || windowTo ? " seen " + (windowFrom || "any time") + " to " + (windowTo || "now") : "";
      var rels = hiddenRelations.size ? "; hidden relations: " + Array.from(hiddenRelations).sort().join(", ").replace(/_/g, " ") : "";
      say("Links" + window_ + rels + ". " + counts() + ".");
    });
  }

  svg.classList.add("explorable");
  placeLabels();
})();
