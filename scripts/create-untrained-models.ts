/**
 * Writes models/lung.onnx and models/lesion.onnx with freshly initialised (untrained) weights,
 * and a model card next to each. They let the segmentation pipeline run end to end before
 * trained networks exist; their output is meaningless.
 *
 * Usage: npx tsx scripts/create-untrained-models.ts [output folder, default models]
 */
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { resolveHighResNetOptions, describeHighResNet } from '../src/nn/highresnet.js'
import { buildInferenceModel } from '../src/nn/inference.js'
import { DEFAULT_INPUT_HEIGHT, DEFAULT_INPUT_WIDTH, DEFAULT_PREPROCESSING } from '../src/nn/metadata.js'
import { initialiseWeights } from '../src/nn/weights.js'

const MODELS = [
  { task: 'lung', classes: ['background', 'lung'], seed: 1 },
  { task: 'lesion', classes: ['background', 'lesion'], seed: 2 },
]

async function main(): Promise<void> {
  const folder = process.argv[2] ?? 'models'
  await mkdir(folder, { recursive: true })

  for (const model of MODELS) {
    const options = resolveHighResNetOptions({ classes: model.classes.length })
    const weights = initialiseWeights(options, model.seed)
    const bytes = buildInferenceModel(weights, {
      task: model.task,
      classes: model.classes,
      inputHeight: DEFAULT_INPUT_HEIGHT,
      inputWidth: DEFAULT_INPUT_WIDTH,
      preprocessing: DEFAULT_PREPROCESSING,
      trained: false,
    })
    const onnxPath = path.join(folder, `${model.task}.onnx`)
    await writeFile(onnxPath, bytes)
    await writeFile(path.join(folder, `${model.task}.md`), modelCard(model.task, model.classes, model.seed, bytes.length))
    process.stderr.write(`wrote ${onnxPath} (${bytes.length} bytes)\n`)
  }
}

function modelCard(task: string, classes: string[], seed: number, byteCount: number): string {
  const options = resolveHighResNetOptions({ classes: classes.length })
  const summary = describeHighResNet(options)
  const parameterCount = summary.parameters.reduce((sum, p) => sum + p.dims.reduce((a, b) => a * b, 1), 0)
  return `# ${task}.onnx — UNTRAINED placeholder

**The weights of this model are untrained.** They are He-initialised random numbers
(seed ${seed}), written by \`scripts/create-untrained-models.ts\`. Its output is meaningless:
do not use it to segment anything. It exists so that the segmentation pipeline can run end to
end until a trained ${task} network replaces it. The model's metadata says
\`colinet.trained = false\`.

| field | value |
|---|---|
| task | ${task} |
| classes | ${classes.join(', ')} (output channel order; softmax over classes) |
| input | \`image\` float32 [batch, 1, height, width]; default slice ${DEFAULT_INPUT_HEIGHT} rows x ${DEFAULT_INPUT_WIDTH} columns |
| preprocessing | HU clipped to [${DEFAULT_PREPROCESSING.clipHu.join(', ')}], then divided by 1000 |
| output | \`probabilities\` float32 [batch, ${classes.length}, height, width] |
| architecture | HighResNet-style, ${summary.convolutionLayers} convolution layers, channels ${options.channels.join('/')}, dilations 1/2/4, receptive field ${summary.receptiveField} x ${summary.receptiveField} pixels |
| parameters | ${parameterCount} |
| file size | ${byteCount} bytes |
| training data | none |
| evaluation | none |
`
}

await main()
