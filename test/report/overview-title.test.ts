import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fitOverviewTitle } from '../../src/report/overview.js'

// The title colinet segment gives a DICOM series of Lung-PET-CT-Dx patient A0001 (195 characters).
const A0001_TITLE =
  'colinet 0.1.0: DICOM series 1.3.6.1.4.1.14519.5.2.1.6655.2359.257508444832901632590301540805 "5mm" ' +
  '(axial CT, 64 files) from /work/shared/data/ct/lung-pet-ct-dx/A0001-5mm-a, 512 x 512 x 64 voxels'

test('title that fits stays whole', () => {
  assert.deepEqual(fitOverviewTitle('colinet 0.1.0: NIfTI file ct.nii.gz, 512 x 512 x 64 voxels', 162), [
    'colinet 0.1.0: NIfTI file ct.nii.gz, 512 x 512 x 64 voxels',
  ])
  assert.deepEqual(fitOverviewTitle(A0001_TITLE, 195), [A0001_TITLE])
})

test('long UID and path lose their middle', () => {
  // 162 characters fit across the 1220 px overview of A0001. The UID keeps its first 9 and last
  // 22 characters, and the path its last folders within 32 characters: 147 characters in all.
  assert.deepEqual(fitOverviewTitle(A0001_TITLE, 162), [
    'colinet 0.1.0: DICOM series 1.3.6.1.4…4832901632590301540805 "5mm" (axial CT, 64 files) from …/ct/lung-pet-ct-dx/A0001-5mm-a, 512 x 512 x 64 voxels',
  ])
})

test('title wraps at a space', () => {
  // The shortened title of 147 characters breaks at the last space within 100 characters, after "from".
  assert.deepEqual(fitOverviewTitle(A0001_TITLE, 100), [
    'colinet 0.1.0: DICOM series 1.3.6.1.4…4832901632590301540805 "5mm" (axial CT, 64 files) from',
    '…/ct/lung-pet-ct-dx/A0001-5mm-a, 512 x 512 x 64 voxels',
  ])
})

test('second line too long ends in ellipsis', () => {
  // At 60 characters the break falls after the UID, and the remaining 86 characters are cut to 59 and "…".
  assert.deepEqual(fitOverviewTitle(A0001_TITLE, 60), [
    'colinet 0.1.0: DICOM series 1.3.6.1.4…4832901632590301540805',
    '"5mm" (axial CT, 64 files) from …/ct/lung-pet-ct-dx/A0001-5…',
  ])
})

test('long last folder keeps its end', () => {
  // The folder patient-0001-chest-ct-with-contrast-2020 (40 characters) alone is longer than 32,
  // so its last 31 characters stay.
  const title = 'colinet 0.1.0: DICOM series 1.2.3 from /data/patient-0001-chest-ct-with-contrast-2020, 1 x 1 x 1 voxels'
  assert.deepEqual(fitOverviewTitle(title, 90), [
    'colinet 0.1.0: DICOM series 1.2.3 from …001-chest-ct-with-contrast-2020, 1 x 1 x 1 voxels',
  ])
})
