import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SeededRandom } from '../../src/nn/random.js'
import { COLINET_INPUT } from '../../src/pipeline/preprocess.js'
import { DEFAULT_AUGMENTATION, drawTransform, IDENTITY_TRANSFORM, lungShiftWeight, transformSlice, type SliceTransform } from '../../src/train/augment.js'

const WIDTH = 64
const HEIGHT = 48
const CX = (WIDTH - 1) / 2
const CY = (HEIGHT - 1) / 2

/** A slice of 40 HU (0.04 on the network scale) with label 1 inside the given pixel predicate. */
function slice(inside: (u: number, v: number) => boolean) {
  const image = new Float32Array(WIDTH * HEIGHT)
  const labels = new Uint8Array(WIDTH * HEIGHT)
  for (let v = 0; v < HEIGHT; v++) {
    for (let u = 0; u < WIDTH; u++) {
      const p = v * WIDTH + u
      labels[p] = inside(u, v) ? 1 : 0
      image[p] = labels[p] ? -0.85 : 0.04 + 0.001 * u
    }
  }
  return { image, labels }
}

function apply(input: { image: Float32Array; labels: Uint8Array }, transform: SliceTransform, random?: SeededRandom) {
  const output = { image: new Float32Array(WIDTH * HEIGHT), labels: new Uint8Array(WIDTH * HEIGHT) }
  transformSlice(input, output, WIDTH, HEIGHT, transform, COLINET_INPUT, random)
  return output
}

function area(labels: Uint8Array): number {
  return labels.reduce((sum, v) => sum + v, 0)
}

function centroid(labels: Uint8Array): [number, number] {
  let su = 0
  let sv = 0
  let n = 0
  for (let p = 0; p < labels.length; p++) {
    if (labels[p] === 0) continue
    su += p % WIDTH
    sv += Math.floor(p / WIDTH)
    n++
  }
  return [su / n, sv / n]
}

const DISC_RADIUS = 12
const disc = slice((u, v) => (u - CX) ** 2 + (v - CY) ** 2 <= DISC_RADIUS ** 2)

test('identity transform copies the slice', () => {
  const output = apply(disc, IDENTITY_TRANSFORM)
  assert.deepEqual(output.image, disc.image)
  assert.deepEqual(output.labels, disc.labels)
})

test('rotation keeps disc area', () => {
  const before = area(disc.labels)
  // Analytic area π·12² = 452.4 pixels; the pixelated disc is within 2 %.
  assert.ok(Math.abs(before - Math.PI * DISC_RADIUS ** 2) < 0.02 * before, `disc area ${before}`)
  for (const degrees of [-10, 7, 10]) {
    const after = area(apply(disc, { ...IDENTITY_TRANSFORM, rotationDegrees: degrees }).labels)
    assert.ok(Math.abs(after - before) <= 0.02 * before, `${degrees} degrees: area ${before} -> ${after}`)
  }
})

test('scaling by 1.1 grows area by 1.21', () => {
  const before = area(disc.labels)
  const after = area(apply(disc, { ...IDENTITY_TRANSFORM, scale: 1.1 }).labels)
  assert.ok(Math.abs(after / before - 1.21) < 0.03, `area ratio ${after / before}`)
})

test('rotation turns clockwise on screen', () => {
  // A square right of the centre moves below the centre under +90 degrees (rows go down).
  const square = slice((u, v) => Math.abs(u - (CX + 12)) <= 2 && Math.abs(v - CY) <= 2)
  const [u, v] = centroid(apply(square, { ...IDENTITY_TRANSFORM, rotationDegrees: 90 }).labels)
  assert.ok(Math.abs(u - CX) < 0.6, `u ${u}`)
  assert.ok(Math.abs(v - (CY + 12)) < 0.6, `v ${v}`)
})

test('augmentation never flips left and right', () => {
  // A marker 15 pixels right of the centre: a flip would move it to the left half.
  const marker = slice((u, v) => Math.abs(u - (CX + 15)) <= 3 && Math.abs(v - CY) <= 3)
  const random = new SeededRandom(5)
  for (let n = 0; n < 40; n++) {
    const [u] = centroid(apply(marker, drawTransform(random, DEFAULT_AUGMENTATION), random).labels)
    assert.ok(u > CX + 10, `draw ${n}: marker at column ${u}`)
  }
})

test('outside the grid reads as air', () => {
  const output = apply(disc, { ...IDENTITY_TRANSFORM, scale: 0.5 })
  assert.equal(output.image[0], Math.fround(-1.024))
  assert.equal(output.labels[0], 0)
})

test('intensity scale and shift in HU', () => {
  const output = apply(disc, { ...IDENTITY_TRANSFORM, intensityScale: 1.05, intensityShiftHu: 20 })
  // Pixel (0, 0): 40 HU -> 1.05·40 + 20 = 62 HU -> 0.062; lung -850 HU -> -872.5 HU.
  assert.ok(Math.abs(output.image[0]! - 0.062) < 1e-6, `background ${output.image[0]}`)
  const centre = Math.round(CY) * WIDTH + Math.round(CX)
  assert.ok(Math.abs(output.image[centre]! - -0.8725) < 1e-6, `lung ${output.image[centre]}`)
})

test('intensity stays in the clip window', () => {
  const air = { image: new Float32Array(WIDTH * HEIGHT).fill(-1.024), labels: new Uint8Array(WIDTH * HEIGHT) }
  const output = apply(air, { ...IDENTITY_TRANSFORM, intensityScale: 1.05 })
  assert.equal(Math.min(...output.image), Math.fround(-1.024))
})

test('noise has the set SD in HU', () => {
  const flat = { image: new Float32Array(WIDTH * HEIGHT), labels: new Uint8Array(WIDTH * HEIGHT) }
  const output = apply(flat, { ...IDENTITY_TRANSFORM, noiseHu: 10 }, new SeededRandom(2))
  const mean = output.image.reduce((a, b) => a + b, 0) / output.image.length
  const sd = Math.sqrt(output.image.reduce((a, b) => a + (b - mean) ** 2, 0) / output.image.length)
  // 10 HU is 0.010 on the network scale; 3072 samples give an SD within about 3 %.
  assert.ok(Math.abs(sd - 0.01) < 0.0005, `SD ${sd}`)
  assert.ok(Math.abs(mean) < 0.001, `mean ${mean}`)
})

test('blur spreads an impulse as a Gaussian', () => {
  const impulse = { image: new Float32Array(WIDTH * HEIGHT), labels: new Uint8Array(WIDTH * HEIGHT) }
  const centre = 20 * WIDTH + 30
  impulse.image[centre] = 0.3
  impulse.labels[centre] = 1
  const output = apply(impulse, { ...IDENTITY_TRANSFORM, blurSigmaPixels: 1 })

  // Kernel exp(-k²/2) for k = -3..3 sums to 2.505950, so the centre keeps 0.3 / 2.505950².
  assert.ok(Math.abs(output.image[centre]! - 0.3 * 0.159241) < 1e-6, `centre ${output.image[centre]}`)
  const total = output.image.reduce((a, b) => a + b, 0)
  assert.ok(Math.abs(total - 0.3) < 1e-5, `sum ${total}`)
  // Variance along a row: Σ k²·w_k / Σ w_k = 2.495704 / 2.505950 = 0.995911 (σ² = 1 less the cut tails).
  let variance = 0
  for (let u = 0; u < WIDTH; u++) {
    for (let v = 0; v < HEIGHT; v++) variance += output.image[v * WIDTH + u]! * (u - 30) ** 2
  }
  assert.ok(Math.abs(variance / 0.3 - 0.995911) < 1e-5, `variance ${variance / 0.3}`)
  assert.deepEqual(output.labels, impulse.labels, 'the blur leaves the labels alone')
})

test('blur keeps a constant slice constant', () => {
  const flat = { image: new Float32Array(WIDTH * HEIGHT).fill(-0.7), labels: new Uint8Array(WIDTH * HEIGHT) }
  const output = apply(flat, { ...IDENTITY_TRANSFORM, blurSigmaPixels: 1.5 })
  const largest = output.image.reduce((worst, value) => Math.max(worst, Math.abs(value + 0.7)), 0)
  assert.ok(largest < 1e-6, `largest change ${largest}, edges included`)
})

test('optional ranges drawn only when set', () => {
  // An optional range that is off draws no number, so runs without it keep their transforms.
  // One that is on covers its range: blur from [0, 1.5], lung shift from [-80, 80].
  const cases = [
    { name: 'blur', ranges: { ...DEFAULT_AUGMENTATION, blurSigmaPixels: 1.5 }, pick: (t: SliceTransform) => t.blurSigmaPixels, low: 0, high: 1.5 },
    { name: 'lung shift', ranges: { ...DEFAULT_AUGMENTATION, lungShiftHu: 80 }, pick: (t: SliceTransform) => t.lungShiftHu, low: -80, high: 80 },
  ]
  for (const { name, ranges, pick, low, high } of cases) {
    const drawn = new SeededRandom(5)
    const reference = new SeededRandom(5)
    assert.equal(pick(drawTransform(drawn, DEFAULT_AUGMENTATION)), 0, `${name} off by default`)
    for (let k = 0; k < 4; k++) reference.uniform()
    assert.equal(drawn.uniform(), reference.uniform(), `${name}: four numbers drawn, as before it existed`)

    const values = Array.from({ length: 200 }, () => pick(drawTransform(drawn, ranges)))
    assert.ok(values.every((value) => value >= low && value <= high), `${name}: every value within [${low}, ${high}]`)
    const margin = 0.1 * (high - low)
    assert.ok(Math.min(...values) < low + margin, `${name}: smallest ${Math.min(...values)}`)
    assert.ok(Math.max(...values) > high - margin, `${name}: largest ${Math.max(...values)}`)
  }
})

test('lung shift weight at its corners', () => {
  const cases: [number, number][] = [
    [-1100, 0],
    [-1024, 0],
    [-962, 0.5],
    [-900, 1],
    [-800, 1],
    [-700, 1],
    [-550, 0.5],
    [-400, 0],
    [40, 0],
  ]
  for (const [hu, weight] of cases) assert.ok(Math.abs(lungShiftWeight(hu) - weight) < 1e-12, `weight at ${hu} HU: ${lungShiftWeight(hu)}, expected ${weight}`)
})

test('lung shift moves lung, not soft tissue', () => {
  // Pixels of -800 HU (lung), -550 HU (half weight), 40 HU (soft tissue) and -1024 HU (air).
  const values = [-800, -550, 40, -1024]
  const input = { image: new Float32Array(WIDTH * HEIGHT), labels: new Uint8Array(WIDTH * HEIGHT) }
  values.forEach((hu, k) => input.image.fill(hu / 1000, k * 12 * WIDTH, (k + 1) * 12 * WIDTH))
  const output = apply(input, { ...IDENTITY_TRANSFORM, lungShiftHu: 100 })
  const expected = [-700, -500, 40, -1024]
  // Row 5 of each band of 12 rows is away from the band edges.
  expected.forEach((hu, k) => {
    const value = output.image[(k * 12 + 5) * WIDTH + 30]! * 1000
    assert.ok(Math.abs(value - hu) < 1e-3, `band ${k}: ${value} HU, expected ${hu}`)
  })
})

test('lung shift keeps the order of HU values', () => {
  for (const shift of [-120, 120]) {
    let previous = -Infinity
    for (let hu = -1024; hu <= 0; hu += 0.5) {
      const shifted = hu + shift * lungShiftWeight(hu)
      assert.ok(shifted > previous, `shift ${shift}: ${hu} HU maps to ${shifted}, not above ${previous}`)
      previous = shifted
    }
  }
})


test('mirror reverses each row', () => {
  const marker = slice((u, v) => Math.abs(u - (CX + 15)) <= 3 && Math.abs(v - CY) <= 3)
  const output = apply(marker, { ...IDENTITY_TRANSFORM, mirrored: true })
  for (let v = 0; v < HEIGHT; v++) {
    for (let u = 0; u < WIDTH; u++) {
      assert.equal(output.image[v * WIDTH + u], marker.image[v * WIDTH + WIDTH - 1 - u], `pixel (${u}, ${v})`)
    }
  }
  const [u] = centroid(output.labels)
  assert.ok(Math.abs(u - (CX - 15)) < 1e-9, `marker at column ${u}`)
})

test('mirror drawn for about half', () => {
  // Off, it draws no number (four per transform, as before it existed); on, it draws one more.
  const drawn = new SeededRandom(8)
  const reference = new SeededRandom(8)
  assert.equal(drawTransform(drawn, DEFAULT_AUGMENTATION).mirrored, false)
  for (let k = 0; k < 4; k++) reference.uniform()
  assert.equal(drawn.uniform(), reference.uniform())

  const mirrored = Array.from({ length: 400 }, () => drawTransform(drawn, { ...DEFAULT_AUGMENTATION, mirror: true }).mirrored)
  const count = mirrored.filter(Boolean).length
  // Binomial(400, 0.5): SD 10, so 150..250 is five SD either side.
  assert.ok(count > 150, `${count} of 400 mirrored`)
  assert.ok(count < 250, `${count} of 400 mirrored`)
})
