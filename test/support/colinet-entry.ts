// Runs the colinet command line from the TypeScript sources, as bin/colinet.js runs the build.
import { main } from '../../src/cli/main.js'

process.exitCode = await main(process.argv.slice(2))
