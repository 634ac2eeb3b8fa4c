/**
 * Simulates lesions at several target percentages on the phantom and on a real scan
 * (A0001-5mm-a, lungs from the classical labeller), prints time and the affected percentage,
 * and writes overlay PNGs to docs/images/simulated-lesions/. Run: npx tsx bench/simulate-lesions.ts
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { readVolume } from '../src/io/read.js'
import { encodePng } from '../src/report/png.js'
import { renderLungOverlay } from '../src/sim/label-overlay.js'
import { labelLungs } from '../src/sim/label-lungs.js'
import { LesionPattern, simulateLesions } from '../src/sim/lesions.js'
import { createChestPhantom } from '../src/sim/phantom.js'
import type { Volume } from '../src/volume/volume.js'

const outputFolder = join('docs', 'images', 'simulated-lesions')
mkdirSync(outputFolder, { recursive: true })

function run(name: string, ct: Volume, lung: Volume, targetPercent: number): void {
  const start = performance.now()
  const result = simulateLesions(ct, lung, { targetPercent, seed: 1 })
  const seconds = (performance.now() - start) / 1000
  const patterns = [0, 0, 0, 0]
  for (const value of result.pattern.data) patterns[value]++
  const lesionVoxels = patterns[1] + patterns[2] + patterns[3]
  const share = (pattern: number): string => `${((100 * patterns[pattern]) / lesionVoxels).toFixed(0)}%`
  console.log(
    `${name} at ${targetPercent}%: ${seconds.toFixed(2)} s, ${result.affectedPercent.toFixed(2)}% affected, ${result.focusCount} foci, ` +
      `ground glass ${share(LesionPattern.groundGlass)}, crazy paving ${share(LesionPattern.crazyPaving)}, consolidation ${share(LesionPattern.consolidation)}`,
  )
  const image = renderLungOverlay(result.ct, result.lesion.data, { reference: result.lesion.data, tintLabels: false, axialCount: 3, panelPx: 220 })
  writeFileSync(join(outputFolder, `${name}-${targetPercent}.png`), encodePng(image))
}

const phantom = createChestPhantom({ size: [256, 256, 100], lesions: false })
for (const percent of [5, 30]) run('phantom', phantom.ct, phantom.lung, percent)

const scan = join('..', 'shared', 'data', 'ct', 'lung-pet-ct-dx', 'A0001-5mm-a')
if (existsSync(scan)) {
  const ct = (await readVolume(scan)).volume
  const lung = labelLungs(ct).lung
  for (const percent of [5, 25, 60]) run('A0001-5mm-a', ct, lung, percent)
}
