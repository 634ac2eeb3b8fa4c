/**
 * Importer for Ma Jun et al., "COVID-19 CT Lung and Infection Segmentation Dataset" (Zenodo,
 * doi:10.5281/zenodo.3757476): 20 CTs in COVID-19-CT-Seg_20cases/ and, under the same file
 * names, Lung_Mask/, Infection_Mask/ and Lung_and_Infection_Mask/. Ten CTs come from the
 * Coronacases Initiative (coronacases_001..010) and ten from Radiopaedia
 * (radiopaedia_<case>_<study>_<series>).
 *
 * The data set describes its labels as left lung, right lung and infection. Descriptions of the
 * combined mask give 1 left lung, 2 right lung and 3 infection, and Lung_Mask uses the same 1
 * and 2. The importer takes that as the expected assignment but does not rely on it. It reads
 * each lung mask, names the value whose voxels lie on the patient's right (smaller LPS x) the
 * right lung, and reports any file that disagrees with the description.
 *
 * The Kaggle copy (ct_scans/coronacases_org_001.nii, lung_mask/coronacases_001.nii,
 * ct_scans/radiopaedia_org_covid-19-pneumonia-4_85506_1-dcm.nii) is matched as well.
 *
 * Patients: each coronacases file is its own patient; Radiopaedia files with the same case
 * number (radiopaedia_10_85902_1 and radiopaedia_10_85902_3) are taken as one patient.
 */
import type { Task } from '../labels.js'
import { findEntry, lungSidesFromGeometry, niftiFiles, requireFolder, type ImportResult, type ImportRow, type Importer } from './common.js'

const DOCUMENTED_RIGHT_LUNG_VALUE = 2

export const zenodoCovidImporter: Importer = {
  name: 'zenodo-covid',
  description: 'Ma et al. COVID-19 CT Lung and Infection Segmentation (Zenodo 3757476)',
  importFolder,
}

/** Returns the key that an image and its masks share, e.g. "coronacases_001", "radiopaedia_4_85506_1". */
export function zenodoCaseKey(stem: string): string {
  const kaggleRadiopaedia = /^radiopaedia_org_covid-19-pneumonia-(\d+)_(\d+)_(\d+)(-dcm)?$/i.exec(stem)
  if (kaggleRadiopaedia !== null) return `radiopaedia_${kaggleRadiopaedia[1]}_${kaggleRadiopaedia[2]}_${kaggleRadiopaedia[3]}`
  return stem.replace(/_org_/i, '_').toLowerCase()
}

/** Patient id and centre of a case key. */
export function zenodoPatient(key: string): { patient: string; centre: string } {
  const radiopaedia = /^radiopaedia_(\d+)_/.exec(key)
  if (radiopaedia !== null) return { patient: `radiopaedia_${radiopaedia[1]}`, centre: 'Zenodo COVID-19-CT-Seg Radiopaedia' }
  return { patient: key, centre: key.startsWith('coronacases') ? 'Zenodo COVID-19-CT-Seg Coronacases' : 'Zenodo COVID-19-CT-Seg' }
}

async function importFolder(folder: string, task: Task, log: (message: string) => void): Promise<ImportResult> {
  requireFolder(folder, 'COVID-19 CT Lung and Infection Segmentation')
  const imageFolder = findEntry(folder, ['COVID-19-CT-Seg_20cases', 'ct_scans'], 'folder')
  const labelFolder = findEntry(folder, task === 'lesion' ? ['Infection_Mask'] : ['Lung_Mask'], 'folder')
  const notes: string[] = []
  if (imageFolder === undefined || labelFolder === undefined) {
    const maskFolder = task === 'lesion' ? 'Infection_Mask/' : 'Lung_Mask/'
    notes.push(`found no ${imageFolder === undefined ? 'COVID-19-CT-Seg_20cases/' : maskFolder} under ${folder}`)
    return { rows: [], notes }
  }

  const labels = new Map([...niftiFiles(labelFolder)].map(([stem, path]) => [zenodoCaseKey(stem), path]))
  const rows: ImportRow[] = []
  const disagreements: string[] = []
  for (const [stem, image] of niftiFiles(imageFolder)) {
    const key = zenodoCaseKey(stem)
    const label = labels.get(key)
    if (label === undefined) {
      notes.push(`${stem} has no mask in ${labelFolder}; left out`)
      continue
    }
    const { patient, centre } = zenodoPatient(key)
    if (task === 'lesion') {
      rows.push({ image, label, patient, centre, labelMap: '1:1' })
      continue
    }
    log(`checking the lung sides of ${label}`)
    const sides = await lungSidesFromGeometry(label, [1, 2])
    if (sides === undefined) {
      notes.push(`${label} does not hold the lung values 1 and 2; listed without sides (train it with --lung-classes 2)`)
      rows.push({ image, label, patient, centre })
      continue
    }
    if (sides.rightValue !== DOCUMENTED_RIGHT_LUNG_VALUE) disagreements.push(key)
    rows.push({ image, label, patient, centre, labelMap: sides.labelMap })
  }

  if (task === 'lung' && rows.length > 0) {
    notes.push(
      disagreements.length === 0
        ? `every lung mask has value ${DOCUMENTED_RIGHT_LUNG_VALUE} on the patient's right, as the data set describes (1 left, 2 right)`
        : `value 1 lies on the patient's right, against the data set's description (1 left, 2 right), in: ${disagreements.join(', ')}; the manifest follows the geometry`,
    )
  }
  notes.push('the CTs come from two sources; training checks that each is in HU and names any that is not (leave such rows out with --skip-invalid)')
  return { rows, notes }
}
