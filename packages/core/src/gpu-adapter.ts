/**
 * Whether a WebGPU adapter is a real GPU, from what it says about itself. Work that only pays on a GPU (compiling the
 * first page's pipelines while the model downloads) runs on 'hardware' only: on a software adapter executing a shader
 * costs more than compiling it, and SwiftShader's pipeline creation alone made the first page 3x later (issue 13).
 */

/** GPUAdapterInfo's strings (empty where a browser masks them) and its isFallbackAdapter, where the browser has it. */
export interface GpuAdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  /** GPUAdapterInfo.isFallbackAdapter (Chromium 121+), or the older GPUAdapter.isFallbackAdapter. */
  isFallbackAdapter?: boolean | null;
}

export type AdapterKind = 'hardware' | 'software' | 'unknown';

/**
 * Names of the CPU rasterisers WebGPU implementations fall back to: SwiftShader (Chromium, Dawn), llvmpipe / lavapipe
 * / softpipe (Mesa, e.g. Dawn on Vulkan without a GPU), WARP ("Microsoft Basic Render Driver", Dawn on D3D12).
 */
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|basic render driver|\bsoftware\b/i;

/**
 * 'software' when the adapter says it is a fallback or names a CPU rasteriser; 'hardware' when it names a vendor and
 * nothing of the kind; 'unknown' when it names no vendor (masked), so callers treat it as not known to be a GPU.
 */
export function adapterKind(info: GpuAdapterInfo): AdapterKind {
  const strings = [info.vendor, info.architecture, info.device, info.description].map((s) => s ?? '');
  if (info.isFallbackAdapter === true || strings.some((s) => SOFTWARE.test(s))) return 'software';
  return info.vendor ? 'hardware' : 'unknown';
}
