/**
 * Importer for MosMedData "COVID19_1110" (chest CTs from Moscow hospitals): studies/CT-0 ..
 * CT-4/study_XXXX.nii.gz and masks/study_XXXX_mask.nii.gz. Only about 50 studies (in CT-1)
 * have masks; those mark ground-glass opacities and consolidations with 1, so lesion = 1.
 * There are no lung masks, so the data set serves the lesion task only.
 */
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { InputError } from '../../errors.js'
import type { Task } from '../labels.js'
import { findEntry, niftiFiles, requireFolder, type ImportResult, type ImportRow, type Importer } from './common.js'

const CENTRE = 'MosMedData (Moscow)'

export const mosmedImporter: Importer = {
  name: 'mosmed',
  description: 'MosMedData COVID19_1110 (studies/ and masks/, lesion only)',
  importFolder,
}

async function importFolder(folder: string, task: Task): Promise<ImportResult> {
  requireFolder(folder, 'MosMedData')
  if (task !== 'lesion') {
    throw new InputError('MosMedData has lesion masks only, no lung masks; import it with --task lesion')
  }
  const studiesFolder = findEntry(folder, ['studies'], 'folder')
  const masksFolder = findEntry(folder, ['masks'], 'folder')
  if (studiesFolder === undefined || masksFolder === undefined) {
    return { rows: [], notes: [`found no ${studiesFolder === undefined ? 'studies/' : 'masks/'} folder under ${folder}`] }
  }

  const masks = new Map<string, string>()
  for (const [stem, path] of niftiFiles(masksFolder)) {
    const match = /^(study_\d+)_mask$/i.exec(stem)
    if (match !== null) masks.set(match[1]!.toLowerCase(), path)
  }

  const rows: ImportRow[] = []
  let withoutMask = 0
  const categories = readdirSync(studiesFolder).filter((name) => statSync(join(studiesFolder, name)).isDirectory()).sort()
  for (const category of [...categories, '.']) {
    for (const [stem, image] of niftiFiles(join(studiesFolder, category))) {
      const study = stem.toLowerCase()
      const label = masks.get(study)
      if (label === undefined) {
        withoutMask++
        continue
      }
      rows.push({ image, label, patient: study, centre: CENTRE, labelMap: '1:1' })
      masks.delete(study)
    }
  }
  const notes = [`${withoutMask} studies have no mask and are left out`]
  if (masks.size > 0) notes.push(`${masks.size} mask(s) have no study: ${[...masks.keys()].slice(0, 5).join(', ')}`)
  return { rows, notes }
}
