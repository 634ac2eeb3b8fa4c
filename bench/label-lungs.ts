/**
 * Runs the classical lung labeller on the phantom and on every real scan in ../shared/data,
 * prints time, warnings and (where a reference exists) Dice, and writes one overlay PNG per
 * scan to docs/images/label-lungs/. Run: npx tsx bench/label-lungs.ts
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { readVolume } from '../src/io/read.js'
import { encodePng } from '../src/report/png.js'
import { renderLungOverlay } from '../src/sim/label-overlay.js'
import { labelLungs } from '../src/sim/label-lungs.js'
import { createChestPhantom } from '../src/sim/phantom.js'
import type { Volume } from '../src/volume/volume.js'

const outputFolder = join('docs', 'images', 'label-lungs')
const dataRoot = join('..', 'shared', 'data', 'ct')
mkdirSync(outputFolder, { recursive: true })

function dice(prediction: ArrayLike<number>, reference: ArrayLike<number>): number {
  let intersection = 0
  let total = 0
  for (let v = 0; v < prediction.length; v++) {
    const inPrediction = prediction[v] !== 0
    const inReference = reference[v] !== 0
    if (inPrediction && inReference) intersection++
    total += Number(inPrediction) + Number(inReference)
  }
  return (2 * intersection) / total
}

async function run(name: string, ct: Volume, reference?: ArrayLike<number>): Promise<void> {
  const start = performance.now()
  const result = labelLungs(ct)
  const seconds = (performance.now() - start) / 1000
  const counts = [0, 0, 0]
  for (const label of result.lung.data) counts[label]++
  const voxelMl = (ct.spacingMm[0] * ct.spacingMm[1] * ct.spacingMm[2]) / 1000
  const volumes = `right ${(counts[1] * voxelMl).toFixed(0)} mL, left ${(counts[2] * voxelMl).toFixed(0)} mL`
  const score = reference === undefined ? '' : `, Dice ${dice(result.lung.data, reference).toFixed(4)}`
  console.log(`${name}: ${ct.size.join(' x ')}, ${seconds.toFixed(2)} s, ${volumes}${score}`)
  for (const warning of result.warnings) console.log(`  warning: ${warning}`)
  const image = renderLungOverlay(ct, result.lung.data, { reference, panelPx: 170 })
  writeFileSync(join(outputFolder, `${name}.png`), encodePng(image))
}

const phantom = createChestPhantom()
await run('phantom-128', phantom.ct, phantom.lung.data)

const cip = join(dataRoot, 'cip')
if (existsSync(cip)) {
  const reference = (await readVolume(join(cip, 'wholeLung-64.nrrd'))).volume.data
  await run('cip-ct-64', (await readVolume(join(cip, 'ct-64.nrrd'))).volume, reference)
  await run('cip-test-input', (await readVolume(join(cip, 'TestInput.nrrd'))).volume)
}
for (const series of ['A0001-5mm-a', 'A0001-5mm-b', 'A0002-8mm-B70f', 'A0002-8mm-B40f']) {
  const folder = join(dataRoot, 'lung-pet-ct-dx', series)
  if (existsSync(folder)) await run(series, (await readVolume(folder)).volume)
}
