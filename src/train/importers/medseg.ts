/**
 * Importer for the MedSeg "COVID-19 CT segmentation dataset" (medicalsegmentation.com/covid19),
 * two parts in one folder:
 *   - tr_im.nii.gz with tr_mask.nii.gz and tr_lungmasks_updated.nii.gz: 100 axial slices from
 *     more than 40 patients, collected by the Italian Society of Medical and Interventional
 *     Radiology (SIRM), stacked into one volume. Which slice belongs to which patient is not
 *     given, so the whole stack is one "patient" and never split across training and validation.
 *   - rp_im/N.nii.gz with rp_msk/N.nii.gz and rp_lung_msk/N.nii.gz (rp_lung/ is accepted
 *     too): 9 whole CT volumes from Radiopaedia, one patient each.
 * Lesion masks contain 1 ground-glass opacity, 2 consolidation and 3 pleural effusion. Lesion is
 * 1 or 2 (label_map "1:1 2:1 3:0"), because an effusion is fluid outside the lung, not pneumonia.
 * Lung masks hold two values; which one is the right lung is read from each file's geometry.
 */
import { join } from 'node:path'
import type { Task } from '../labels.js'
import { findEntry, findNifti, lungSidesFromGeometry, niftiFiles, requireFolder, type ImportResult, type ImportRow, type Importer } from './common.js'

export const MEDSEG_LESION_MAP = '1:1 2:1 3:0'
const SIRM_CENTRE = 'MedSeg SIRM (Italian Society of Medical and Interventional Radiology)'
const RADIOPAEDIA_CENTRE = 'MedSeg Radiopaedia'

export const medsegImporter: Importer = {
  name: 'medseg',
  description: 'MedSeg COVID-19 CT segmentation (tr_im stack and rp_im volumes)',
  importFolder,
}

async function importFolder(folder: string, task: Task, log: (message: string) => void): Promise<ImportResult> {
  requireFolder(folder, 'MedSeg COVID-19 CT segmentation')
  const rows: ImportRow[] = []
  const notes: string[] = []

  const stackImage = findNifti(folder, 'tr_im')
  const stackLabel = findNifti(folder, task === 'lesion' ? 'tr_mask' : 'tr_lungmasks_updated') ?? (task === 'lung' ? findNifti(folder, 'tr_lungmasks') : undefined)
  if (stackImage !== undefined && stackLabel !== undefined) {
    const row = await makeRow(stackImage, stackLabel, 'medseg-sirm-100-slices', SIRM_CENTRE, task, notes)
    if (row !== undefined) rows.push(row)
    notes.push('the 100-slice SIRM stack mixes slices of more than 40 patients and is listed as one patient, so all of it stays on one side of the split')
  } else if (stackImage !== undefined) {
    notes.push(`found tr_im but not its ${task === 'lesion' ? 'tr_mask' : 'tr_lungmasks_updated'}; the stack is left out`)
  }

  const imageFolder = findEntry(folder, ['rp_im'], 'folder')
  const labelFolder = findEntry(folder, task === 'lesion' ? ['rp_msk'] : ['rp_lung_msk', 'rp_lung'], 'folder')
  if (imageFolder !== undefined && labelFolder !== undefined) {
    const labels = niftiFiles(labelFolder)
    for (const [stem, image] of niftiFiles(imageFolder)) {
      const label = labels.get(stem)
      if (label === undefined) {
        notes.push(`rp_im/${stem} has no label in ${labelFolder}; left out`)
        continue
      }
      log(`checking ${join(labelFolder, stem)}`)
      const row = await makeRow(image, label, `medseg-radiopaedia-${stem}`, RADIOPAEDIA_CENTRE, task, notes)
      if (row !== undefined) rows.push(row)
    }
  } else if (imageFolder !== undefined) {
    notes.push(`found rp_im but not ${task === 'lesion' ? 'rp_msk' : 'rp_lung_msk'}; the Radiopaedia volumes are left out`)
  }
  if (task === 'lesion') notes.push('lesion = ground-glass (1) or consolidation (2); pleural effusion (3) counts as background')
  return { rows, notes }
}

async function makeRow(image: string, label: string, patient: string, centre: string, task: Task, notes: string[]): Promise<ImportRow | undefined> {
  if (task === 'lesion') return { image, label, patient, centre, labelMap: MEDSEG_LESION_MAP }
  const sides = await lungSidesFromGeometry(label, [1, 2])
  if (sides === undefined) {
    notes.push(`${label} does not hold the lung values 1 and 2; listed without sides (train it with --lung-classes 2)`)
    return { image, label, patient, centre }
  }
  notes.push(`${label}: value ${sides.rightValue} lies on the patient's right`)
  return { image, label, patient, centre, labelMap: sides.labelMap }
}
