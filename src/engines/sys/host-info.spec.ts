import {
  collectHostInfo,
  diskMounts,
  diskUsage,
  formatHostId,
  parseBootTime,
  parseCpuInfo,
  parseCpuTimes,
  parseMemInfo,
  parseOsRelease,
  type HostReader,
} from './host-info';

const CPUINFO = `processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 85
model name\t: Intel(R) Xeon(R) CPU @ 2.00GHz
stepping\t: 7
microcode\t: 0xffffffff
cpu MHz\t\t: 2000.168
cache size\t: 39424 KB
physical id\t: 0
core id\t\t: 0
cpu cores\t: 2
flags\t\t: fpu vme de pse

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) CPU @ 2.00GHz
flags\t\t: fpu vme
`;

const STAT = `cpu  200 10 300 4000 50 0 7 0 0 0
cpu0 100 5 150 2000 25 0 3 1 2 3
cpu1 100 5 150 2000 25 0 4 0 0 0
intr 1 2 3
btime 1764900000
processes 1234
`;

const MEMINFO = `MemTotal:        8000000 kB
MemFree:         1000000 kB
MemAvailable:    5000000 kB
Buffers:          200000 kB
Cached:          2000000 kB
SwapCached:            0 kB
Shmem:             10000 kB
SReclaimable:      30000 kB
Committed_AS:    4000000 kB
HugePages_Total:       4
Hugepagesize:       2048 kB
`;

describe('host-info parsers (gopsutil field names)', () => {
  it('cpu: one InfoStat per logical processor', () => {
    const cpus = parseCpuInfo(CPUINFO);
    expect(cpus).toHaveLength(2);
    expect(cpus[0]).toEqual({
      cpu: 0,
      vendorId: 'GenuineIntel',
      family: '6',
      model: '85',
      stepping: 7,
      physicalId: '0',
      coreId: '0',
      cores: 2,
      modelName: 'Intel(R) Xeon(R) CPU @ 2.00GHz',
      mhz: 2000.168,
      cacheSize: 39424,
      flags: ['fpu', 'vme', 'de', 'pse'],
      microcode: '0xffffffff',
    });
    expect(cpus[1]).toMatchObject({ cpu: 1, cores: 1, stepping: 0, flags: ['fpu', 'vme'] });
  });

  it('cpu_times: per CPU, in seconds; btime', () => {
    expect(parseCpuTimes(STAT)).toEqual([
      { cpu: 'cpu0', user: 1, system: 1.5, idle: 20, nice: 0.05, iowait: 0.25, irq: 0, softirq: 0.03, steal: 0.01, guest: 0.02, guestNice: 0.03 },
      { cpu: 'cpu1', user: 1, system: 1.5, idle: 20, nice: 0.05, iowait: 0.25, irq: 0, softirq: 0.04, steal: 0, guest: 0, guestNice: 0 },
    ]);
    expect(parseBootTime(STAT)).toBe(1764900000);
    expect(parseBootTime('cpu 1')).toBeUndefined();
  });

  it('memory: bytes under the v2 names Vault keeps', () => {
    const m = parseMemInfo(MEMINFO);
    expect(m).toMatchObject({
      total: 8000000 * 1024,
      free: 1000000 * 1024,
      available: 5000000 * 1024,
      buffers: 200000 * 1024,
      cached: 2000000 * 1024,
      shared: 10000 * 1024,
      sreclaimable: 30000 * 1024,
      committedas: 4000000 * 1024,
      hugepagestotal: 4,
      hugepagesize: 2048 * 1024,
    });
    expect(m.used).toBe((8000000 - 1000000 - 200000 - 2000000) * 1024);
    expect(m.usedPercent).toBeCloseTo(60, 5);
    for (const k of [
      'writeback',
      'writebacktmp',
      'sunreclaim',
      'pagetables',
      'swapcached',
      'commitlimit',
      'swaptotal',
      'swapfree',
      'mapped',
      'vmalloctotal',
      'hugepagesfree',
    ])
      expect(m).toHaveProperty(k);
  });

  it('disk: device filesystems and /, each mount point once, octal escapes decoded', () => {
    const mounts = [
      'overlay / overlay rw 0 0',
      'proc /proc proc rw 0 0',
      '/dev/sda1 /data ext4 rw 0 0',
      '/dev/sda1 /data ext4 rw 0 0',
      '/dev/sdb1 /my\\040disk xfs rw 0 0',
      'tmpfs /tmp tmpfs rw 0 0',
    ].join('\n');
    const filesystems = 'nodev\tproc\nnodev\ttmpfs\nnodev\toverlay\n\text4\n\txfs\n';
    expect(diskMounts(mounts, filesystems)).toEqual([
      { path: '/', fstype: 'overlay' },
      { path: '/data', fstype: 'ext4' },
      { path: '/my disk', fstype: 'xfs' },
    ]);
    expect(diskUsage('/data', 'ext4', { bsize: 4096, blocks: 1000, bfree: 400, bavail: 300, files: 100, ffree: 25 })).toEqual({
      path: '/data',
      fstype: 'ext4',
      total: 4096000,
      free: 1228800,
      used: 2457600,
      usedPercent: (600 / 900) * 100,
      inodesTotal: 100,
      inodesUsed: 75,
      inodesFree: 25,
      inodesUsedPercent: 75,
    });
  });

  it('host: platform family from ID and ID_LIKE; host id formatted as gopsutil does', () => {
    expect(parseOsRelease('ID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\n')).toEqual({
      platform: 'ubuntu',
      platformFamily: 'debian',
      platformVersion: '24.04',
    });
    expect(parseOsRelease('ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"')).toEqual({
      platform: 'rocky',
      platformFamily: 'rhel',
      platformVersion: '9.3',
    });
    expect(parseOsRelease('')).toEqual({ platform: '', platformFamily: '', platformVersion: '' });
    expect(formatHostId('0123456789ABCDEF0123456789abcdef\n')).toBe('01234567-89ab-cdef-0123-456789abcdef');
    expect(formatHostId('c1a2e3f4-0000-1111-2222-333344445555')).toBe('c1a2e3f4-0000-1111-2222-333344445555');
  });

  it('collects every part it can; a failing part is a warning naming only the part', async () => {
    const files: Record<string, string> = {
      '/proc/stat': STAT,
      '/proc/meminfo': MEMINFO,
      '/proc/mounts': '/dev/sda1 / ext4 rw 0 0\n',
      '/proc/filesystems': '\text4\n',
      '/etc/os-release': 'ID=debian\n',
    };
    const reader: HostReader = {
      readFile: async (p) => {
        if (p in files) return files[p];
        throw new Error(`ENOENT: no such file ${p} with secret=hunter2`);
      },
      readdir: async () => ['1', '22', 'self', 'net'],
      statfs: async () => ({ bsize: 4096, blocks: 10, bfree: 5, bavail: 5, files: 10, ffree: 5 }),
      exists: async () => false,
    };
    const info = await collectHostInfo(reader);
    expect(Object.keys(info.data).sort()).toEqual(['cpu_times', 'disk', 'host', 'memory', 'timestamp']);
    expect(info.warnings).toEqual(['unable to collect cpu info']);
    expect(info.data.host).toMatchObject({ procs: 2, bootTime: 1764900000, platform: 'debian', platformFamily: 'debian', os: process.platform, hostid: '' });
    expect(info.data.disk).toEqual([expect.objectContaining({ path: '/', fstype: 'ext4', total: 40960 })]);
    expect(new Date(info.data.timestamp as string).toISOString()).toBe(info.data.timestamp);
  });
});
