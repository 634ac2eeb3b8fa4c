// Writes an all-zero lesion mask on the grid of each lung label: the lesion-free training cases.
// Usage: npx tsx scripts/empty-masks.ts <label folder> <output folder> <name>...
import { readVolume } from '../src/io/read.js'
import { writeVolume } from '../src/io/write.js'

const [labelFolder, outputFolder, ...names] = process.argv.slice(2)
for (const name of names) {
  const { volume } = await readVolume(`${labelFolder}/${name}-lung.nii.gz`)
  await writeVolume(`${outputFolder}/${name}-none-lesion.nii.gz`, { ...volume, data: new Uint8Array(volume.data.length) }, { force: true })
}
