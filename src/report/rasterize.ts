import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { Resvg } from '@resvg/resvg-js'

/**
 * Rasterises an SVG figure to PNG with resvg (a Rust renderer shipped as a prebuilt binary in its
 * npm platform package). System fonts are not loaded: text is set in Noto Sans from the
 * @expo-google-fonts/noto-sans package, so figures look the same on machines without fonts.
 */
export function svgToPng(svg: string, scale = 2): Buffer {
  const renderer = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: false, fontFiles: fontFiles(), defaultFontFamily: 'Noto Sans' },
  })
  return renderer.render().asPng()
}

let cachedFontFiles: string[] | undefined

function fontFiles(): string[] {
  if (cachedFontFiles === undefined) {
    const require = createRequire(import.meta.url)
    const folder = dirname(require.resolve('@expo-google-fonts/noto-sans/package.json'))
    cachedFontFiles = [join(folder, '400Regular', 'NotoSans_400Regular.ttf'), join(folder, '700Bold', 'NotoSans_700Bold.ttf')]
  }
  return cachedFontFiles
}
