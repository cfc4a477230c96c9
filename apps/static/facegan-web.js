/* facegan-web.js: the page's side of apps/browser.py. Draws a tab's single face with onnxruntime-web
 * (WebAssembly, one thread) from the graph the server exported of the tab's checkpoint, so a slider
 * move sends nothing to the server. Where it cannot (no WebAssembly, a graph that does not load, a face
 * it does not draw such as a W code), it clicks the tab's hidden server button and says so in small print.
 *
 * window.faceganWeb.<fn>(...values) is what the tabs' events call (apps/browser.js): each returns the
 * event's output values (unchanged where the server draws instead). Face codes are the library's:
 * one byte per latent dimension as two hex digits, the byte's latent value from the checkpoint's
 * table (facegan.latent.bytes_to_z); a StyleGAN seed's code is torch.randint(0, 256) of a generator
 * seeded with it (mt19937, as torch's CPU generator), so a seed draws the same face as on the server.
 */
(() => {
  "use strict";
  const BASE = new URL("facegan-web/", document.baseURI).href;
  const models = new Map();  // technique + checkpoint -> Promise<{info, session}>
  const failed = new Map();  // technique + checkpoint -> why the browser cannot draw it
  const queues = {};  // slot -> {busy, seq}: one draw at a time per face; moves that queued meanwhile skip to the last

  function ortOf() {
    const ort = window.ort;
    if (typeof WebAssembly !== "object") throw new Error("this browser has no WebAssembly");
    if (!ort) throw new Error("onnxruntime-web did not load");
    const script = document.querySelector('script[src*="ort.wasm.min.js"]');
    ort.env.wasm.wasmPaths = new URL(".", script ? script.src : BASE).href;
    ort.env.wasm.numThreads = 1;  // no cross-origin isolation on a Space: one thread
    ort.env.wasm.proxy = false;
    return ort;
  }

  function keyOf(technique, ckpt) {
    return technique + "\u0000" + (ckpt == null || ckpt === "" ? "default" : String(ckpt));
  }

  function model(technique, ckpt) {
    const k = keyOf(technique, ckpt);
    if (failed.has(k)) return Promise.reject(new Error(failed.get(k)));
    if (!models.has(k)) {
      const loading = (async () => {
        const ort = ortOf();
        const r = await fetch(BASE + "graph/" + technique + "?checkpoint=" + encodeURIComponent(k.split("\u0000")[1]));
        const info = await r.json().catch(() => ({}));
        if (!r.ok) throw new Error(info.error || "the server answered " + r.status);
        const session = await ort.InferenceSession.create(BASE + info.graph, {
          executionProviders: ["wasm"], graphOptimizationLevel: "all"});
        return {info, session};
      })();
      loading.catch((e) => { models.delete(k); failed.set(k, String(e && e.message || e)); });
      models.set(k, loading);
    }
    return models.get(k);
  }

  async function exclusive(slot, work, unchanged) {
    const q = queues[slot] || (queues[slot] = {busy: Promise.resolve(), seq: 0});
    const mine = ++q.seq;
    const before = q.busy;
    let release;
    q.busy = new Promise((r) => { release = r; });
    await before;
    try {
      return mine === q.seq ? await work() : unchanged;  // a later move is waiting: it draws
    } finally {
      release();
    }
  }

  function note(technique, text) {
    const el = document.getElementById("facegan-" + technique + "-where");
    if (el) el.textContent = text;
  }

  function toServer(technique, what, why, unchanged) {
    note(technique + (what === "edit" ? "-edit" : ""), "drawn on the server: " + why);
    const el = document.getElementById("facegan-" + technique + "-" + what + "-server");
    const button = el && (el.tagName === "BUTTON" ? el : el.querySelector("button"));
    if (button) setTimeout(() => button.click(), 0);
    return unchanged;
  }

  function picture(data, size) {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = size;
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(size, size);
    const n = size * size;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) {
        const v = Math.min(1, Math.max(-1, data[c * n + i]));  // as facegan.images.to_uint8
        img.data[4 * i + c] = Math.round((v + 1) * 127.5);
      }
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    return {url: canvas.toDataURL("image/png"), path: "face.png", orig_name: "face.png",
            mime_type: "image/png", meta: {_type: "gradio.FileData"}};
  }

  // -- codes ------------------------------------------------------------------------------------------

  function codeBytes(text, nz) {
    const clean = String(text == null ? "" : text).replace(/\s+/g, "").toLowerCase().replace(/^0x/, "");
    if (clean.length !== 2 * nz || !/^[0-9a-f]*$/.test(clean)) return null;
    const out = [];
    for (let i = 0; i < clean.length; i += 2) out.push(parseInt(clean.slice(i, i + 2), 16));
    return out;
  }

  function hex(bytes) {
    return bytes.map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  function latentOf(bytes, info) {
    return new Float32Array(bytes.map((b) => info.z_table[b]));
  }

  function mt19937(seed32) {  // torch's CPU generator (at::mt19937): seeded with the low 32 bits
    const s = new Uint32Array(624);
    s[0] = seed32 >>> 0;
    for (let i = 1; i < 624; i++) {
      const p = s[i - 1] ^ (s[i - 1] >>> 30);
      s[i] = (Math.imul(1812433253, p) + i) >>> 0;
    }
    let index = 624;
    return () => {
      if (index >= 624) {
        for (let k = 0; k < 624; k++) {
          const y = (s[k] & 0x80000000) | (s[(k + 1) % 624] & 0x7fffffff);
          s[k] = s[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
        }
        index = 0;
      }
      let y = s[index++];
      y ^= y >>> 11;
      y ^= (y << 7) & 0x9d2c5680;
      y ^= (y << 15) & 0xefc60000;
      y ^= y >>> 18;
      return y >>> 0;
    };
  }

  const MAX_SEED = (1n << 63n) - 1n;

  function seedBytes(text, nz) {  // facegan.latent.random_codes(1, nz, seed): null for no seed
    const t = String(text).trim();
    if (!/^\d{1,19}$/.test(t) || BigInt(t) > MAX_SEED) return null;
    const next = mt19937(Number(BigInt(t) & 0xffffffffn));
    const out = [];
    for (let i = 0; i < nz; i++) out.push(next() % 256);
    return out;
  }

  async function run(session, feeds) {
    const t0 = performance.now();
    const out = await session.run(feeds);
    return {image: out.image.data, ms: performance.now() - t0};
  }

  function tensor(data, dims) {
    return new window.ort.Tensor("float32", data, dims);
  }

  // -- DCGAN explorer ---------------------------------------------------------------------------------

  async function dcganDraw(ckpt, bytes) {
    const {info, session} = await model("dcgan", ckpt);
    if (bytes.length !== info.z_dim) throw new Error("the sliders drive 16-dim models");
    const r = await run(session, {z: tensor(latentOf(bytes, info), [1, info.z_dim])});
    note("dcgan", `drawn in your browser (onnxruntime-web, ${r.ms.toFixed(0)} ms)`);
    return picture(r.image, info.image_size);
  }

  async function dcganSliders(ckpt, ...rest) {
    const [face, code] = rest.slice(-2);
    const values = rest.slice(0, -2);
    const unchanged = [face, code];
    return exclusive("dcgan", async () => {
      const bytes = values.map((v) => Math.min(255, Math.max(0, Math.round(Number(v)))));
      try {
        return [await dcganDraw(ckpt, bytes), hex(bytes)];
      } catch (e) {
        return toServer("dcgan", "sliders", e.message, unchanged);
      }
    }, unchanged);
  }

  async function dcganCode(ckpt, code, face, ...sliders) {
    const unchanged = [face, code, ...sliders];
    return exclusive("dcgan", async () => {
      try {
        const {info} = await model("dcgan", ckpt);
        const bytes = codeBytes(code, info.z_dim);
        if (!bytes || info.z_dim !== sliders.length) return toServer("dcgan", "face", "a code the server checks", unchanged);
        return [await dcganDraw(ckpt, bytes), hex(bytes), ...bytes];
      } catch (e) {
        return toServer("dcgan", "face", e.message, unchanged);
      }
    }, unchanged);
  }

  // -- AC-GAN class grid: one face (class:latent) ------------------------------------------------------

  async function acganFace(ckpt, code, face) {
    const unchanged = [face, code];
    return exclusive("acgan", async () => {
      try {
        const {info, session} = await model("acgan", ckpt);
        const text = String(code == null ? "" : code).trim();
        const cut = text.lastIndexOf(":");
        const cls = info.classes.indexOf(text.slice(0, cut));
        const bytes = cut > 0 ? codeBytes(text.slice(cut + 1), info.z_dim) : null;
        if (cls < 0 || !bytes) return toServer("acgan", "face", "a code the server checks", unchanged);
        const r = await run(session, {z: tensor(latentOf(bytes, info), [1, info.z_dim]),
                                      class: new window.ort.Tensor("int64", BigInt64Array.from([BigInt(cls)]), [1])});
        note("acgan", `drawn in your browser (onnxruntime-web, ${r.ms.toFixed(0)} ms)`);
        return [picture(r.image, info.image_size), info.classes[cls] + ":" + hex(bytes)];
      } catch (e) {
        return toServer("acgan", "face", e.message, unchanged);
      }
    }, unchanged);
  }

  // -- StyleGAN studio: a seed or a z code, psi over every style, the checkpoint's noise; an edit -------

  function styleganBytes(face, info) {
    const t = String(face == null ? "" : face).trim();
    if (t.length !== 2 * info.z_dim && /^\d+$/.test(t)) return seedBytes(t, info.z_dim);
    return codeBytes(t, info.z_dim);
  }

  // what the page draws itself; anything else goes to the server, which checks it (facegan.checks:
  // MAX_PSI 2, MAX_EDIT_STRENGTH 20) and says what is wrong
  function plainRendering(psi, cutoff, noise) {
    const p = Number(psi);
    const c = String(cutoff == null ? "" : cutoff).trim().toLowerCase();
    return noise === "const" && (c === "" || c === "all") && Number.isFinite(p) && Math.abs(p) <= 2;
  }

  async function styleganDraw(ckpt, face, psi, offset, where) {
    const {info, session} = await model("stylegan", ckpt);
    const bytes = styleganBytes(face, info);
    if (!bytes) return null;
    const r = await run(session, {
      z: tensor(latentOf(bytes, info), [1, info.z_dim]), psi: tensor(new Float32Array([Number(psi)]), []),
      offset: tensor(offset || new Float32Array(info.num_ws * info.w_dim), [info.num_ws, info.w_dim])});
    note(where, `drawn in your browser (onnxruntime-web, ${r.ms.toFixed(0)} ms)`);
    return {picture: picture(r.image, info.image_size), code: hex(bytes)};
  }

  async function styleganFace(ckpt, face, psi, cutoff, noise, noiseSeed, shown, code) {
    const unchanged = [shown, code];
    return exclusive("stylegan", async () => {
      try {
        if (!plainRendering(psi, cutoff, noise)) {
          return toServer("stylegan", "face", "a cutoff or random noise", unchanged);
        }
        const f = await styleganDraw(ckpt, face, psi, null, "stylegan");
        return f ? [f.picture, f.code] : toServer("stylegan", "face", "a face the server reads", unchanged);
      } catch (e) {
        return toServer("stylegan", "face", e.message, unchanged);
      }
    }, unchanged);
  }

  async function styleganEdit(ckpt, face, direction, layers, strength, psi, cutoff, noise, noiseSeed, edited) {
    const unchanged = [edited];
    return exclusive("stylegan-edit", async () => {
      try {
        const {info} = await model("stylegan", ckpt);
        const d = info.directions || {};
        const labelled = typeof direction === "string" && !/^\d+$/.test(direction.trim());
        const span = layers == null || String(layers).trim() === "" ? (labelled ? "all" : "coarse") : String(layers);
        const styles = d.spans && d.spans[span];
        const vector = labelled ? d.labelled && d.labelled[direction] : d.sefa && d.sefa[span] && d.sefa[span][Number(direction)];
        if (!plainRendering(psi, cutoff, noise) || !styles || !vector || !(Math.abs(Number(strength)) <= 20)) {
          return toServer("stylegan", "edit", "an edit the server draws", unchanged);
        }
        // truncation after the move (the studio's order): psi * strength * v in the styles moved
        const offset = new Float32Array(info.num_ws * info.w_dim);
        const scale = Number(psi) * Number(strength);
        for (const s of styles) for (let j = 0; j < info.w_dim; j++) offset[s * info.w_dim + j] = scale * vector[j];
        const f = await styleganDraw(ckpt, face, psi, offset, "stylegan-edit");
        return f ? [f.picture] : toServer("stylegan", "edit", "a face the server reads", unchanged);
      } catch (e) {
        return toServer("stylegan", "edit", e.message, unchanged);
      }
    }, unchanged);
  }

  async function preload(technique, ckpt) {
    try {
      const {info} = await model(technique, ckpt);
      note(technique, `drawn in your browser (onnxruntime-web; the graph: ${(info.bytes / 1e6).toFixed(1)} MB)`);
    } catch (e) {
      note(technique, "drawn on the server: " + e.message);
    }
    return [];
  }

  window.faceganWeb = {dcganSliders, dcganCode, acganFace, styleganFace, styleganEdit, preload,
                       seedBytes, codeBytes};
})();
