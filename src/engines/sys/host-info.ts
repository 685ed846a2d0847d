/**
 * sys/host-info: what Vault collects with gopsutil (helper/hostutil), read here from /proc, node:os
 * and fs.statfs, under gopsutil's JSON names (the v2 names Vault keeps for `memory` and `host.hostid`).
 * Each part is collected on its own; a part that fails is left out with a warning, as Vault does.
 * Nothing here reads the environment, the command line or the configuration.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';

/** Linux USER_HZ: /proc/stat counts in hundredths of a second. */
const CLOCK_TICKS = 100;

export interface HostReader {
  readFile(path: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
  statfs(path: string): Promise<{ bsize: number; blocks: number; bfree: number; bavail: number; files: number; ffree: number }>;
  exists(path: string): Promise<boolean>;
}

export const procReader: HostReader = {
  readFile: (p) => fsp.readFile(p, 'utf8'),
  readdir: (p) => fsp.readdir(p),
  statfs: async (p) => {
    const s = await fsp.statfs(p);
    return {
      bsize: Number(s.bsize),
      blocks: Number(s.blocks),
      bfree: Number(s.bfree),
      bavail: Number(s.bavail),
      files: Number(s.files),
      ffree: Number(s.ffree),
    };
  },
  exists: (p) =>
    fsp.access(p).then(
      () => true,
      () => false,
    ),
};

/** gopsutil cpu.InfoStat, one per logical processor of /proc/cpuinfo. */
export function parseCpuInfo(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const kv = new Map<string, string>();
    for (const line of block.split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
    }
    if (!kv.has('processor')) continue;
    const int = (k: string) => Number.parseInt(kv.get(k) ?? '', 10) || 0;
    out.push({
      cpu: int('processor'),
      vendorId: kv.get('vendor_id') ?? kv.get('CPU implementer') ?? '',
      family: kv.get('cpu family') ?? kv.get('CPU architecture') ?? '',
      model: kv.get('model') ?? kv.get('CPU part') ?? '',
      stepping: int('stepping'),
      physicalId: kv.get('physical id') ?? '',
      coreId: kv.get('core id') ?? '',
      cores: kv.has('cpu cores') ? int('cpu cores') : 1,
      modelName: kv.get('model name') ?? '',
      mhz: Number.parseFloat(kv.get('cpu MHz') ?? '') || 0,
      cacheSize: int('cache size'),
      flags: (kv.get('flags') ?? kv.get('Features') ?? '').split(/\s+/).filter((f) => f !== ''),
      microcode: kv.get('microcode') ?? '',
    });
  }
  return out;
}

/** gopsutil cpu.TimesStat per CPU (`cpu0`, `cpu1`, ...) from /proc/stat, in seconds. */
export function parseCpuTimes(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (!/^cpu\d+$/.test(parts[0] ?? '')) continue;
    const n = (i: number) => (Number(parts[i]) || 0) / CLOCK_TICKS;
    out.push({
      cpu: parts[0],
      user: n(1),
      system: n(3),
      idle: n(4),
      nice: n(2),
      iowait: n(5),
      irq: n(6),
      softirq: n(7),
      steal: n(8),
      guest: n(9),
      guestNice: n(10),
    });
  }
  return out;
}

/** `btime` of /proc/stat: boot time in Unix seconds. */
export function parseBootTime(text: string): number | undefined {
  const m = /^btime\s+(\d+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** /proc/meminfo (kB) → gopsutil v2 mem.VirtualMemoryStat (bytes; HugePages_* are counts). */
export function parseMemInfo(text: string): Record<string, number> {
  const kv = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([^:]+):\s+(\d+)(\s+kB)?/.exec(line);
    if (m) kv.set(m[1], Number(m[2]) * (m[3] ? 1024 : 1));
  }
  const v = (k: string) => kv.get(k) ?? 0;
  const total = v('MemTotal');
  const free = v('MemFree');
  const buffers = v('Buffers');
  const cached = v('Cached');
  const available = kv.has('MemAvailable') ? v('MemAvailable') : free + buffers + cached;
  const used = Math.max(0, total - free - buffers - cached);
  return {
    total,
    available,
    used,
    usedPercent: total > 0 ? (used / total) * 100 : 0,
    free,
    active: v('Active'),
    inactive: v('Inactive'),
    wired: 0,
    laundry: 0,
    buffers,
    cached,
    writeback: v('Writeback'),
    dirty: v('Dirty'),
    writebacktmp: v('WritebackTmp'),
    shared: v('Shmem'),
    slab: v('Slab'),
    sreclaimable: v('SReclaimable'),
    sunreclaim: v('SUnreclaim'),
    pagetables: v('PageTables'),
    swapcached: v('SwapCached'),
    commitlimit: v('CommitLimit'),
    committedas: v('Committed_AS'),
    hightotal: v('HighTotal'),
    highfree: v('HighFree'),
    lowtotal: v('LowTotal'),
    lowfree: v('LowFree'),
    swaptotal: v('SwapTotal'),
    swapfree: v('SwapFree'),
    mapped: v('Mapped'),
    vmalloctotal: v('VmallocTotal'),
    vmallocused: v('VmallocUsed'),
    vmallocchunk: v('VmallocChunk'),
    hugepagestotal: v('HugePages_Total'),
    hugepagesfree: v('HugePages_Free'),
    hugepagesize: v('Hugepagesize'),
  };
}

/** Mounts to report: filesystems on devices (not `nodev` in /proc/filesystems), plus `/`; each mount point once. */
export function diskMounts(mounts: string, filesystems: string): { path: string; fstype: string }[] {
  const physical = new Set(
    filesystems
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('nodev'))
      .map((l) => l.trim()),
  );
  const seen = new Set<string>();
  const out: { path: string; fstype: string }[] = [];
  for (const line of mounts.split('\n')) {
    const [device, mountpoint, fstype] = line.split(' ');
    if (!mountpoint || !fstype) continue;
    // /proc/mounts escapes spaces and the like as octal.
    const path = mountpoint.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
    if (seen.has(path) || !(path === '/' || (device !== 'none' && physical.has(fstype)))) continue;
    seen.add(path);
    out.push({ path, fstype });
  }
  return out;
}

/** gopsutil disk.UsageStat from statfs. */
export function diskUsage(path: string, fstype: string, s: Awaited<ReturnType<HostReader['statfs']>>): Record<string, unknown> {
  const total = s.blocks * s.bsize;
  const free = s.bavail * s.bsize;
  const used = (s.blocks - s.bfree) * s.bsize;
  const inodesUsed = Math.max(0, s.files - s.ffree);
  return {
    path,
    fstype,
    total,
    free,
    used,
    usedPercent: used + free > 0 ? (used / (used + free)) * 100 : 0,
    inodesTotal: s.files,
    inodesUsed,
    inodesFree: s.ffree,
    inodesUsedPercent: s.files > 0 ? (inodesUsed / s.files) * 100 : 0,
  };
}

const OS_FAMILIES: [string, string[]][] = [
  ['debian', ['debian', 'ubuntu', 'linuxmint', 'raspbian']],
  ['rhel', ['rhel', 'centos', 'redhat', 'oracle', 'scientific', 'rocky', 'almalinux', 'amzn']],
  ['fedora', ['fedora']],
  ['suse', ['suse', 'opensuse', 'sles']],
  ['arch', ['arch', 'manjaro']],
  ['alpine', ['alpine']],
  ['gentoo', ['gentoo']],
];

/** /etc/os-release → gopsutil's platform, platformFamily, platformVersion. */
export function parseOsRelease(text: string): { platform: string; platformFamily: string; platformVersion: string } {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) kv.set(m[1], m[2].replace(/^["']|["']$/g, ''));
  }
  const platform = kv.get('ID') ?? '';
  // The distribution itself first, then what it says it is like.
  const candidates = [platform, ...(kv.get('ID_LIKE') ?? '').split(/\s+/)].filter((c) => c !== '');
  const family = candidates.map((c) => OS_FAMILIES.find(([, ids]) => ids.includes(c))).find((f) => f !== undefined);
  return { platform, platformFamily: family ? family[0] : platform, platformVersion: kv.get('VERSION_ID') ?? '' };
}

/** gopsutil's host id: the DMI product UUID, else the machine id (as a UUID), else the boot id. */
export function formatHostId(raw: string): string {
  const id = raw.trim().toLowerCase();
  if (/^[0-9a-f]{32}$/.test(id)) return `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`;
  return id;
}

async function firstReadable(reader: HostReader, paths: string[]): Promise<string> {
  for (const p of paths) {
    const text = await reader.readFile(p).catch(() => '');
    if (text.trim() !== '') return text;
  }
  return '';
}

async function collectHost(reader: HostReader): Promise<Record<string, unknown>> {
  const uptime = Math.floor(os.uptime());
  const stat = await reader.readFile('/proc/stat').catch(() => '');
  // Without /proc (not Linux) the rest of the host part still comes from node:os.
  const procs = (await reader.readdir('/proc').catch(() => [])).filter((n) => /^\d+$/.test(n)).length;
  const release = parseOsRelease(await firstReadable(reader, ['/etc/os-release', '/usr/lib/os-release']));
  const cgroup = await reader.readFile('/proc/1/cgroup').catch(() => '');
  const docker = (await reader.exists('/.dockerenv')) || /docker|containerd|kubepods/.test(cgroup);
  return {
    hostname: os.hostname(),
    uptime,
    bootTime: parseBootTime(stat) ?? Math.floor(Date.now() / 1000) - uptime,
    procs,
    os: process.platform,
    ...release,
    kernelVersion: os.release(),
    kernelArch: os.machine(),
    virtualizationSystem: docker ? 'docker' : '',
    virtualizationRole: docker ? 'guest' : '',
    hostid: formatHostId(await firstReadable(reader, ['/sys/class/dmi/id/product_uuid', '/etc/machine-id', '/proc/sys/kernel/random/boot_id'])),
  };
}

async function collectDisks(reader: HostReader, warnings: string[]): Promise<Record<string, unknown>[]> {
  const mounts = diskMounts(await reader.readFile('/proc/mounts'), await reader.readFile('/proc/filesystems').catch(() => ''));
  const out: Record<string, unknown>[] = [];
  for (const [i, m] of mounts.entries()) {
    try {
      out.push(diskUsage(m.path, m.fstype, await reader.statfs(m.path)));
    } catch {
      warnings.push(`unable to collect disk.${i} info`);
    }
  }
  return out;
}

export interface HostInfo {
  data: Record<string, unknown>;
  warnings: string[];
}

/** Vault's HostInfo: timestamp, then each part that could be collected; failures become warnings naming the part (never file contents). */
export async function collectHostInfo(reader: HostReader = procReader): Promise<HostInfo> {
  const warnings: string[] = [];
  const data: Record<string, unknown> = { timestamp: new Date().toISOString() };
  const parts: [string, () => Promise<unknown>][] = [
    ['host', () => collectHost(reader)],
    ['memory', async () => parseMemInfo(await reader.readFile('/proc/meminfo'))],
    ['disk', () => collectDisks(reader, warnings)],
    ['cpu', async () => parseCpuInfo(await reader.readFile('/proc/cpuinfo'))],
    ['cpu_times', async () => parseCpuTimes(await reader.readFile('/proc/stat'))],
  ];
  for (const [name, collect] of parts) {
    try {
      data[name] = await collect();
    } catch {
      warnings.push(`unable to collect ${name} info`);
    }
  }
  return { data, warnings };
}
