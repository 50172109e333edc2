/* Daybreak console: the case's entity graph.
 *
 * The server draws the graph as SVG with a starting layout, so it reads without this
 * script. This script makes it interactive: drag entities, move them with the arrow
 * keys, select one (Enter / Space / click) to see its links and jump to neighbours,
 * zoom, and re-run a small force layout. No libraries; DOM APIs and textContent only.
 */
(function () {
  "use strict";

  var svg = document.getElementById("case-graph");
  if (!svg) {
    return;
  }
  var W = Number(svg.getAttribute("data-width"));
  var H = Number(svg.getAttribute("data-height"));
  var viewport = svg.querySelector(".viewport");
  var detail = document.getElementById("graph-detail");
  var toolbar = document.querySelector(".graph-toolbar");
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  var nodes = new Map();
  var edges = [];
  var view = { scale: 1, tx: 0, ty: 0 };
  var selected = null;
  var running = 0;

  Array.prototype.forEach.call(svg.querySelectorAll("g.node"), function (el) {
    var key = el.getAttribute("data-key");
    nodes.set(key, {
      el: el,
      key: key,
      kind: el.getAttribute("data-kind"),
      label: el.getAttribute("data-label"),
      x: Number(el.getAttribute("data-x")),
      y: Number(el.getAttribute("data-y")),
      vx: 0,
      vy: 0,
      links: [],
    });
  });
  Array.prototype.forEach.call(svg.querySelectorAll("line.edge"), function (el) {
    var s = nodes.get(el.getAttribute("data-source"));
    var t = nodes.get(el.getAttribute("data-target"));
    if (!s || !t) {
      return;
    }
    var edge = { el: el, s: s, t: t, relation: el.getAttribute("data-relation"), count: el.getAttribute("data-count") };
    s.links.push(edge);
    t.links.push(edge);
    edges.push(edge);
  });
  var list = Array.from(nodes.values());

  function clamp(v, lo, hi) {
    return Math.max(lo, Math.min(hi, v));
  }

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

  function applyView() {
    viewport.setAttribute(
      "transform",
      "translate(" + view.tx.toFixed(1) + "," + view.ty.toFixed(1) + ") scale(" + view.scale.toFixed(3) + ")"
    );
  }

  /* One step of a Fruchterman-Reingold style simulation. */
  function step(temperature) {
    var k = Math.sqrt((W * H) / Math.max(list.length, 1)) * 0.6;
    var i, j, a, b, dx, dy, d, f;
    for (i = 0; i < list.length; i++) {
      list[i].vx = (W / 2 - list[i].x) * 0.05;
      list[i].vy = (H / 2 - list[i].y) * 0.05;
    }
    for (i = 0; i < list.length; i++) {
      a = list[i];
      for (j = i + 1; j < list.length; j++) {
        b = list[j];
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
      dx = e.s.x - e.t.x;
      dy = e.s.y - e.t.y;
      d = Math.max(Math.sqrt(dx * dx + dy * dy), 0.01);
      f = (d * d) / k;
      e.s.vx -= (dx / d) * f;
      e.s.vy -= (dy / d) * f;
      e.t.vx += (dx / d) * f;
      e.t.vy += (dy / d) * f;
    });
    list.forEach(function (n) {
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
      return;
    }
    function frame() {
      if (token !== running || rounds-- <= 0) {
        return;
      }
      step(temperature);
      temperature *= 0.96;
      drawAll();
      window.requestAnimationFrame(frame);
    }
    window.requestAnimationFrame(frame);
  }

  function neighbour(e, n) {
    return e.s === n ? e.t : e.s;
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
    h.textContent = n.kind.replace(/_/g, " ") + ": " + n.label;
    var key = document.createElement("p");
    key.className = "mono small";
    key.textContent = n.key;
    detail.appendChild(h);
    detail.appendChild(key);
    var ul = document.createElement("ul");
    ul.className = "links";
    n.links.forEach(function (e) {
      var other = neighbour(e, n);
      other.el.classList.add("neighbour");
      var li = document.createElement("li");
      var dir = e.s === n ? e.relation + " \u2192 " : "\u2190 " + e.relation + " ";
      li.appendChild(document.createTextNode(dir + (Number(e.count) > 1 ? "(" + e.count + "\u00d7) " : "")));
      var b = document.createElement("button");
      b.type = "button";
      b.className = "button-link";
      b.textContent = other.kind.replace(/_/g, " ") + " " + other.label;
      b.addEventListener("click", function () {
        select(other);
        other.el.focus();
      });
      li.appendChild(b);
      ul.appendChild(li);
    });
    if (!n.links.length) {
      var none = document.createElement("li");
      none.textContent = "No links drawn.";
      ul.appendChild(none);
    }
    detail.appendChild(ul);
  }

  /* Pointer position in graph coordinates (undoing the zoom/pan transform). */
  function toGraph(evt) {
    var pt = svg.createSVGPoint();
    pt.x = evt.clientX;
    pt.y = evt.clientY;
    var p = pt.matrixTransform(viewport.getScreenCTM().inverse());
    return { x: p.x, y: p.y };
  }

  list.forEach(function (n) {
    n.el.setAttribute("aria-pressed", "false");
    n.el.addEventListener("keydown", function (evt) {
      var d = evt.shiftKey ? 40 : 10;
      var moves = { ArrowLeft: [-d, 0], ArrowRight: [d, 0], ArrowUp: [0, -d], ArrowDown: [0, d] };
      if (moves[evt.key]) {
        n.x = clamp(n.x + moves[evt.key][0], 10, W - 10);
        n.y = clamp(n.y + moves[evt.key][1], 10, H - 10);
        n.pinned = true;
        drawNode(n);
        evt.preventDefault();
      } else if (evt.key === "Enter" || evt.key === " ") {
        select(selected === n ? null : n);
        evt.preventDefault();
      } else if (evt.key === "Escape") {
        select(null);
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
      if (!moved) {
        select(selected === n ? null : n);
        n.el.focus();
      }
    });
  });

  if (toolbar) {
    toolbar.hidden = false;
    toolbar.addEventListener("click", function (evt) {
      var action = evt.target.getAttribute && evt.target.getAttribute("data-graph");
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
      }
    });
  }
})();
