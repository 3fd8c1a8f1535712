// A QR Code Model 2 encoder (ISO/IEC 18004), small enough to read in one go:
// numeric, alphanumeric or byte mode, versions 1-40, the lowest version that
// fits, error correction raised while it still fits, automatic mask choice.
// It follows the standard's algorithm step by step, so its output matches
// other conforming encoders module for module (the desk tests compare it with
// the Rust crate qrcodegen). Exposed as window.GuestpassQr.
'use strict';

(function () {
  // [ordinal, format bits] per error correction level.
  const ECL = { L: [0, 1], M: [1, 0], Q: [2, 3], H: [3, 2] };

  // Per level (L, M, Q, H) and version (index 0 unused): error correction
  // codewords per block, and number of blocks. Table 9 of the standard.
  const ECC_PER_BLOCK = [
    [-1, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
    [-1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
    [-1, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
    [-1, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
  ];
  const BLOCKS = [
    [-1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
    [-1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
    [-1, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68],
    [-1, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81],
  ];

  const ALPHANUMERIC = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
  // Mode indicator and character count bits for versions 1-9, 10-26, 27-40.
  const MODES = {
    numeric: { indicator: 0x1, countBits: [10, 12, 14] },
    alphanumeric: { indicator: 0x2, countBits: [9, 11, 13] },
    byte: { indicator: 0x4, countBits: [8, 16, 16] },
  };

  function countBits(mode, version) {
    return mode.countBits[version <= 9 ? 0 : version <= 26 ? 1 : 2];
  }

  function pushBits(bits, value, length) {
    for (let i = length - 1; i >= 0; i--) bits.push((value >>> i) & 1);
  }

  // One segment in the most compact of the three modes the text allows.
  function segment(text) {
    const data = [];
    if (/^[0-9]*$/.test(text)) {
      for (let i = 0; i < text.length; i += 3) {
        const group = text.substring(i, i + 3);
        pushBits(data, parseInt(group, 10), group.length * 3 + 1);
      }
      return { mode: MODES.numeric, count: text.length, data };
    }
    if ([...text].every((c) => ALPHANUMERIC.includes(c))) {
      let i = 0;
      for (; i + 1 < text.length; i += 2) {
        pushBits(data, ALPHANUMERIC.indexOf(text[i]) * 45 + ALPHANUMERIC.indexOf(text[i + 1]), 11);
      }
      if (i < text.length) pushBits(data, ALPHANUMERIC.indexOf(text[i]), 6);
      return { mode: MODES.alphanumeric, count: text.length, data };
    }
    const bytes = new TextEncoder().encode(text);
    bytes.forEach((b) => pushBits(data, b, 8));
    return { mode: MODES.byte, count: bytes.length, data };
  }

  function rawDataModules(version) {
    let result = (16 * version + 128) * version + 64;
    if (version >= 2) {
      const align = Math.floor(version / 7) + 2;
      result -= (25 * align - 10) * align - 55;
      if (version >= 7) result -= 36;
    }
    return result;
  }

  function dataCodewords(version, ecl) {
    return Math.floor(rawDataModules(version) / 8) - ECC_PER_BLOCK[ecl[0]][version] * BLOCKS[ecl[0]][version];
  }

  // Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1.
  function gfMultiply(x, y) {
    let z = 0;
    for (let i = 7; i >= 0; i--) {
      z = (z << 1) ^ ((z >>> 7) * 0x11d);
      z ^= ((y >>> i) & 1) * x;
    }
    return z;
  }

  function rsDivisor(degree) {
    const result = new Array(degree).fill(0);
    result[degree - 1] = 1;
    let root = 1;
    for (let i = 0; i < degree; i++) {
      for (let j = 0; j < degree; j++) {
        result[j] = gfMultiply(result[j], root);
        if (j + 1 < degree) result[j] ^= result[j + 1];
      }
      root = gfMultiply(root, 0x02);
    }
    return result;
  }

  function rsRemainder(data, divisor) {
    const result = divisor.map(() => 0);
    for (const b of data) {
      const factor = b ^ result.shift();
      result.push(0);
      divisor.forEach((coef, i) => { result[i] ^= gfMultiply(coef, factor); });
    }
    return result;
  }

  // Splits the data into blocks, appends each block's error correction, and
  // interleaves the blocks codeword by codeword.
  function withErrorCorrection(data, version, ecl) {
    const numBlocks = BLOCKS[ecl[0]][version];
    const eccLen = ECC_PER_BLOCK[ecl[0]][version];
    const raw = Math.floor(rawDataModules(version) / 8);
    const numShort = numBlocks - (raw % numBlocks);
    const shortLen = Math.floor(raw / numBlocks);
    const divisor = rsDivisor(eccLen);
    const blocks = [];
    for (let i = 0, k = 0; i < numBlocks; i++) {
      const dat = data.slice(k, k + shortLen - eccLen + (i < numShort ? 0 : 1));
      k += dat.length;
      const ecc = rsRemainder(dat, divisor);
      if (i < numShort) dat.push(0);
      blocks.push(dat.concat(ecc));
    }
    const result = [];
    for (let i = 0; i < blocks[0].length; i++) {
      blocks.forEach((block, j) => {
        // Short blocks have a placeholder where long blocks have their last data codeword.
        if (i !== shortLen - eccLen || j >= numShort) result.push(block[i]);
      });
    }
    return result;
  }

  function alignmentPositions(version) {
    if (version === 1) return [];
    const count = Math.floor(version / 7) + 2;
    const step = Math.floor((version * 8 + count * 3 + 5) / (count * 4 - 4)) * 2;
    const result = [6];
    for (let pos = version * 4 + 17 - 7; result.length < count; pos -= step) result.splice(1, 0, pos);
    return result;
  }

  const MASKS = [
    (x, y) => (x + y) % 2 === 0,
    (x, y) => y % 2 === 0,
    (x) => x % 3 === 0,
    (x, y) => (x + y) % 3 === 0,
    (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
    (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
    (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
    (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
  ];

  class Symbol {
    constructor(version, ecl, codewords) {
      this.version = version;
      this.ecl = ecl;
      this.size = version * 4 + 17;
      this.modules = Array.from({ length: this.size }, () => new Array(this.size).fill(false));
      this.isFunction = Array.from({ length: this.size }, () => new Array(this.size).fill(false));
      this.drawFunctionPatterns();
      this.drawCodewords(codewords);
      let best = 0;
      let bestPenalty = Infinity;
      for (let mask = 0; mask < 8; mask++) {
        this.applyMask(mask);
        this.drawFormatBits(mask);
        const penalty = this.penalty();
        if (penalty < bestPenalty) {
          best = mask;
          bestPenalty = penalty;
        }
        this.applyMask(mask); // XOR again: undone
      }
      this.mask = best;
      this.applyMask(best);
      this.drawFormatBits(best);
      delete this.isFunction;
    }

    setFunction(x, y, dark) {
      this.modules[y][x] = dark;
      this.isFunction[y][x] = true;
    }

    drawFunctionPatterns() {
      const size = this.size;
      for (let i = 0; i < size; i++) {
        this.setFunction(6, i, i % 2 === 0);
        this.setFunction(i, 6, i % 2 === 0);
      }
      for (const [cx, cy] of [[3, 3], [size - 4, 3], [3, size - 4]]) {
        for (let dy = -4; dy <= 4; dy++) {
          for (let dx = -4; dx <= 4; dx++) {
            const dist = Math.max(Math.abs(dx), Math.abs(dy));
            const x = cx + dx;
            const y = cy + dy;
            if (x >= 0 && x < size && y >= 0 && y < size) this.setFunction(x, y, dist !== 2 && dist !== 4);
          }
        }
      }
      const align = alignmentPositions(this.version);
      const last = align.length - 1;
      align.forEach((cx, i) => {
        align.forEach((cy, j) => {
          // The three corners hold finder patterns.
          if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) return;
          for (let dy = -2; dy <= 2; dy++) {
            for (let dx = -2; dx <= 2; dx++) {
              this.setFunction(cx + dx, cy + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
            }
          }
        });
      });
      this.drawFormatBits(0); // reserves the area; redrawn once the mask is chosen
      this.drawVersion();
    }

    drawFormatBits(mask) {
      const data = (this.ecl[1] << 3) | mask;
      let rem = data;
      for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
      const bits = ((data << 10) | rem) ^ 0x5412;
      const bit = (i) => ((bits >>> i) & 1) !== 0;
      const size = this.size;
      for (let i = 0; i <= 5; i++) this.setFunction(8, i, bit(i));
      this.setFunction(8, 7, bit(6));
      this.setFunction(8, 8, bit(7));
      this.setFunction(7, 8, bit(8));
      for (let i = 9; i < 15; i++) this.setFunction(14 - i, 8, bit(i));
      for (let i = 0; i < 8; i++) this.setFunction(size - 1 - i, 8, bit(i));
      for (let i = 8; i < 15; i++) this.setFunction(8, size - 15 + i, bit(i));
      this.setFunction(8, size - 8, true); // the dark module
    }

    drawVersion() {
      if (this.version < 7) return;
      let rem = this.version;
      for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
      const bits = (this.version << 12) | rem;
      for (let i = 0; i < 18; i++) {
        const dark = ((bits >>> i) & 1) !== 0;
        const a = this.size - 11 + (i % 3);
        const b = Math.floor(i / 3);
        this.setFunction(a, b, dark);
        this.setFunction(b, a, dark);
      }
    }

    // Two-module columns, right to left, zigzagging up and down, skipping
    // the vertical timing pattern.
    drawCodewords(codewords) {
      const size = this.size;
      let i = 0;
      for (let right = size - 1; right >= 1; right -= 2) {
        if (right === 6) right = 5;
        for (let vert = 0; vert < size; vert++) {
          for (let j = 0; j < 2; j++) {
            const x = right - j;
            const upward = ((right + 1) & 2) === 0;
            const y = upward ? size - 1 - vert : vert;
            if (!this.isFunction[y][x] && i < codewords.length * 8) {
              this.modules[y][x] = ((codewords[i >>> 3] >>> (7 - (i & 7))) & 1) !== 0;
              i++;
            }
          }
        }
      }
    }

    applyMask(mask) {
      const invert = MASKS[mask];
      for (let y = 0; y < this.size; y++) {
        for (let x = 0; x < this.size; x++) {
          if (!this.isFunction[y][x] && invert(x, y)) this.modules[y][x] = !this.modules[y][x];
        }
      }
    }

    // The standard's four penalty rules; the mask with the lowest total wins.
    penalty() {
      const size = this.size;
      const at = (x, y, vertical) => (vertical ? this.modules[x][y] : this.modules[y][x]);
      let result = 0;
      for (const vertical of [false, true]) {
        for (let y = 0; y < size; y++) {
          let runColor = false;
          let run = 0;
          const history = [0, 0, 0, 0, 0, 0, 0];
          for (let x = 0; x < size; x++) {
            if (at(x, y, vertical) === runColor) {
              run++;
              if (run === 5) result += 3;
              else if (run > 5) result++;
            } else {
              this.addHistory(run, history);
              if (!runColor) result += this.finderLike(history) * 40;
              runColor = at(x, y, vertical);
              run = 1;
            }
          }
          if (runColor) {
            this.addHistory(run, history);
            run = 0;
          }
          run += size; // the light border after the row
          this.addHistory(run, history);
          result += this.finderLike(history) * 40;
        }
      }
      for (let y = 0; y < size - 1; y++) {
        for (let x = 0; x < size - 1; x++) {
          const c = this.modules[y][x];
          if (c === this.modules[y][x + 1] && c === this.modules[y + 1][x] && c === this.modules[y + 1][x + 1]) result += 3;
        }
      }
      let dark = 0;
      for (const row of this.modules) for (const m of row) if (m) dark++;
      const total = size * size;
      result += (Math.ceil(Math.abs(dark * 20 - total * 10) / total) - 1) * 10;
      return result;
    }

    addHistory(run, history) {
      if (history[0] === 0) run += this.size; // the light border before the row
      history.pop();
      history.unshift(run);
    }

    // Counts 1:1:3:1:1 dark-light patterns with 4 light modules on either side.
    finderLike(h) {
      const n = h[1];
      const core = n > 0 && h[2] === n && h[3] === n * 3 && h[4] === n && h[5] === n;
      return (core && h[0] >= n * 4 && h[6] >= n ? 1 : 0) + (core && h[6] >= n * 4 && h[0] >= n ? 1 : 0);
    }
  }

  // Encodes `text` at error correction `minLevel` or better; throws when it
  // does not fit in version 40.
  function encodeText(text, minLevel) {
    let ecl = ECL[minLevel || 'M'];
    if (!ecl) throw new RangeError('error correction level must be L, M, Q or H');
    // The empty text is no segment at all: not even a mode indicator.
    const seg = text === '' ? null : segment(String(text));
    let version = 1;
    let used = -1;
    for (; version <= 40; version++) {
      const cc = seg ? countBits(seg.mode, version) : 0;
      if (!seg || seg.count < 2 ** cc) {
        used = seg ? 4 + cc + seg.data.length : 0;
        if (used <= dataCodewords(version, ecl) * 8) break;
      }
    }
    if (version > 40) throw new RangeError('text too long for a QR code');
    for (const better of [ECL.M, ECL.Q, ECL.H]) {
      if (better[0] > ecl[0] && used <= dataCodewords(version, better) * 8) ecl = better;
    }
    const capacity = dataCodewords(version, ecl) * 8;
    const bits = [];
    if (seg) {
      pushBits(bits, seg.mode.indicator, 4);
      pushBits(bits, seg.count, countBits(seg.mode, version));
      seg.data.forEach((b) => bits.push(b));
    }
    pushBits(bits, 0, Math.min(4, capacity - bits.length)); // terminator
    pushBits(bits, 0, (8 - (bits.length % 8)) % 8);
    for (let pad = 0xec; bits.length < capacity; pad ^= 0xec ^ 0x11) pushBits(bits, pad, 8);
    const data = [];
    for (let i = 0; i < bits.length; i += 8) data.push(parseInt(bits.slice(i, i + 8).join(''), 2));
    return new Symbol(version, ecl, withErrorCorrection(data, version, ecl));
  }

  const SVG = 'http://www.w3.org/2000/svg';

  // An <svg> of the symbol with the standard's four-module quiet zone; one
  // path of unit squares, crisp at any size and in print.
  function toSvg(symbol, label) {
    const border = 4;
    const side = symbol.size + border * 2;
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', `0 0 ${side} ${side}`);
    svg.setAttribute('shape-rendering', 'crispEdges');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
    const background = document.createElementNS(SVG, 'rect');
    background.setAttribute('width', String(side));
    background.setAttribute('height', String(side));
    background.setAttribute('fill', '#fff');
    const path = document.createElementNS(SVG, 'path');
    let d = '';
    symbol.modules.forEach((row, y) => {
      row.forEach((dark, x) => {
        if (dark) d += `M${x + border},${y + border}h1v1h-1z`;
      });
    });
    path.setAttribute('d', d);
    path.setAttribute('fill', '#000');
    svg.append(background, path);
    return svg;
  }

  window.GuestpassQr = Object.freeze({ encodeText, toSvg });
})();
