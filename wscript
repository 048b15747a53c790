#!/usr/bin/env python3
# dgx-music build: core engine library, CPU kernels, hosts, tests, fuzz targets.
#
# Variants (one configure sets up all of them):
#   ./waf build          optimised build in build/
#   ./waf build_asan     ASan + UBSan build in build/asan (tests run under it in CI)
#   ./waf build_fuzz     clang libFuzzer targets in build/fuzz (when clang is present)
#   ./waf build_tsan     ThreadSanitizer build in build/tsan: the engine library and the tests
#                        of the threaded runtime only (TSAN_TESTS), CPU backend only
#   ./waf test           build + run every test program, print "N passed, N failed"
#   ./waf test_asan      the same under the sanitizers
#   ./waf test_tsan      the TSAN_TESTS under ThreadSanitizer
import os
import re
import subprocess
import sys

from waflib import Logs, Options, Task
from waflib.Build import BuildContext, CleanContext, InstallContext
from waflib.TaskGen import extension
from waflib.Tools import c_preproc

APPNAME = 'dgx-music'
VERSION = '0.1.0'
top = '.'
out = 'build'

# (pkg-config name, uselib store, Debian package that provides it)
PKG_DEPS = [
    ('lv2', 'LV2', 'lv2-dev'),
    ('jack', 'JACK', 'libjack-jackd2-dev'),
    ('lilv-0', 'LILV', 'liblilv-dev'),
    ('sndfile', 'SNDFILE', 'libsndfile1-dev'),
    ('soxr', 'SOXR', 'libsoxr-dev'),
    ('jansson', 'JANSSON', 'libjansson-dev'),
    ('libutf8proc', 'UTF8PROC', 'libutf8proc-dev'),
    ('cmocka', 'CMOCKA', 'libcmocka-dev'),
    ('x11', 'X11', 'libx11-dev'),        # the plugin's UI (plugins/generator_ui/)
    ('cairo', 'CAIRO', 'libcairo2-dev'),
]

WARNINGS = ['-Wall', '-Wextra', '-Werror', '-Wshadow', '-Wstrict-prototypes',
            '-Wmissing-prototypes', '-Wvla', '-Wformat=2']
COMMON_CFLAGS = ['-std=c11', '-D_GNU_SOURCE', '-fPIC', '-pthread'] + WARNINGS
SANITIZE = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all',
            '-fno-omit-frame-pointer']
TSAN = ['-fsanitize=thread', '-fno-omit-frame-pointer']
# The tests of the threaded runtime, the only programs of the tsan variant (keeps CI short).
TSAN_TESTS = ['tests/test_ring.c', 'tests/test_engine.c', 'tests/test_engine_stress.c']


def options(opt):
    opt.load('compiler_c')
    opt.add_option('--no-cuda', action='store_true', default=False,
                   help='build the CPU engine alone, even when nvcc is present')
    opt.add_option('--cuda-archs', default='',
                   help='comma list of CUDA targets to build, e.g. sm_90a or sm_120f,compute_120 '
                        '(default: %s)' % ','.join(CUDA_ARCHS_ALL))


def check_deps(conf):
    for pkg, store, deb in PKG_DEPS:
        conf.check_cfg(package=pkg, args='--cflags --libs', uselib_store=store,
                       mandatory=False, msg='Checking for ' + pkg)
        if not conf.env['HAVE_' + store]:
            conf.fatal('%s not found through pkg-config: install the Debian package %s '
                       '(apt-get install %s)' % (pkg, deb, deb))
    conf.check_cc(lib='m', uselib_store='M')


def configure(conf):
    conf.load('compiler_c')
    check_deps(conf)
    conf.env.append_value('CFLAGS', COMMON_CFLAGS)
    conf.env.append_value('LINKFLAGS', ['-pthread'])

    configure_cuda(conf)

    base = conf.env
    conf.env.append_value('CFLAGS', ['-O2', '-g'])

    conf.setenv('asan', env=base.derive())
    conf.env.append_value('CFLAGS', ['-O1', '-g'] + SANITIZE)
    conf.env.append_value('LINKFLAGS', SANITIZE)

    # ThreadSanitizer runs the CPU engine only: no nvcc time for a backend it would not test.
    conf.setenv('tsan', env=base.derive())
    conf.env.append_value('CFLAGS', ['-O1', '-g'] + TSAN)
    conf.env.append_value('LINKFLAGS', TSAN)
    conf.env.HAVE_CUDA = False

    # libFuzzer needs clang; without it the fuzz variant is skipped, never faked.
    conf.setenv('fuzz', env=base.derive())
    clang = conf.find_program('clang', var='FUZZ_CC', mandatory=False)
    conf.env.HAVE_FUZZ = bool(clang)
    if clang:
        conf.env.CC = conf.env.FUZZ_CC
        conf.env.LINK_CC = conf.env.FUZZ_CC
        conf.env.append_value('CFLAGS', ['-O1', '-g', '-fsanitize=fuzzer-no-link,address,undefined'])
        conf.env.append_value('LINKFLAGS', ['-fsanitize=address,undefined'])
    conf.setenv('')

    # RealtimeSanitizer (LLVM >= 20; Debian 12 has clang-22 in bookworm-security): the audio
    # thread's calls run under it in tests/rtsan/. Without it that test is not built.
    rtsan = conf.find_program(['clang-22', 'clang-21', 'clang-20'], var='RTSAN_CC',
                              mandatory=False)
    if rtsan:
        probe = conf.bldnode.make_node('rtsan_probe.c')
        probe.write('int main(void) { return 0; }\n')
        out_node = conf.bldnode.make_node('rtsan_probe')
        cmd = conf.env.RTSAN_CC + ['-fsanitize=realtime', probe.abspath(), '-o',
                                   out_node.abspath()]
        if subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT).returncode:
            conf.env.RTSAN_CC = []
    conf.msg('RealtimeSanitizer', conf.env.RTSAN_CC[0] if conf.env.RTSAN_CC else
             'no (install clang-22 and libclang-rt-22-dev)',
             color='GREEN' if conf.env.RTSAN_CC else 'YELLOW')


def collect(bld, pattern, excl=None):
    return bld.path.ant_glob(pattern, excl=excl or [])


def build(bld):
    v = bld.variant
    if v == 'fuzz' and not bld.env.HAVE_FUZZ:
        Logs.warn('clang not found: no fuzz targets')
        return
    inc = ['core/include', 'core', 'kernels']
    uses = ['JANSSON', 'UTF8PROC', 'SNDFILE', 'SOXR', 'M']
    src_dir = bld.path.abspath()
    defines = ['DGXM_SOURCE_DIR="%s"' % src_dir]

    # The CPU kernels are the hot loops: -O3 unrolls the register-blocked micro-kernels and
    # fused multiply-add is allowed there (the sanitizer variant keeps its optimisation level).
    kernel_flags = ['-ffp-contract=fast', '-Wno-psabi'] + ([] if v in ('asan', 'tsan')
                                                           else ['-O3'])
    # ThreadSanitizer checks the runtime's threads, not the numeric kernels: left
    # uninstrumented they run at full speed, and their ifunc resolvers (target_clones) do not
    # call into the TSan runtime before it is initialised.
    if v == 'tsan':
        kernel_flags += ['-fno-sanitize=thread']
    bld.objects(source=collect(bld, 'kernels/cpu/*.c'), target='dgxm_cpu_kernels',
                includes=inc, cflags=kernel_flags)
    # The CUDA objects go into dgxm_core itself: the engine (core/engine.c) creates CUDA
    # backends, and one archive keeps the link order trivial. DGXM_HAVE_CUDA tells the code.
    has_cuda = build_cuda(bld, inc)
    core_use = uses + ['dgxm_cpu_kernels'] + (['dgxm_cuda', 'CUDART'] if has_cuda else [])
    core_defines = ['DGXM_HAVE_CUDA=1'] if has_cuda else []
    bld.stlib(source=collect(bld, 'core/*.c') + collect(bld, 'kernels/*.c'),
              target='dgxm_core', includes=inc, export_includes=inc,
              use=core_use, defines=defines + core_defines, export_defines=core_defines)

    support = collect(bld, 'tests/support/*.c')
    if v == 'tsan':
        for src in collect(bld, TSAN_TESTS):
            build_test(bld, src, support, defines, uses)
        return

    if v == 'fuzz':
        for src in collect(bld, 'tests/fuzz/fuzz_*.c'):
            name = os.path.splitext(src.name)[0]
            bld.program(source=[src], target='tests/fuzz/' + name, use=['dgxm_core'] + uses,
                        linkflags=['-fsanitize=fuzzer'], install_path=None)
        return

    bld.program(source=collect(bld, 'hosts/cli/*.c'), target='hosts/cli/dgxm',
                use=['dgxm_core'] + uses)
    bld.recurse('plugins')
    bld.recurse('presets')

    for src in collect(bld, 'tests/test_*.c', excl=['tests/test_cuda_*.c']):
        build_test(bld, src, support, defines, uses)
    build_host_tests(bld, defines)
    if has_cuda:
        build_cuda_tests(bld, support, defines, ['dgxm_core'] + uses)
    if v == '':
        build_rt_checks(bld, support, defines, uses)


def build_test(bld, src, support, defines, uses):
    name = os.path.splitext(src.name)[0]
    bld.program(source=[src] + support, target='tests/' + name,
                includes=['tests/support'], defines=defines,
                use=['dgxm_core', 'CMOCKA'] + uses, install_path=None)


def build_host_tests(bld, defines):
    """tests/hosts/test_host_*.c: the built plugin in real hosts (Ardour headless, jalv under
    jackd's dummy driver); each skips visibly when its host is not installed."""
    tools = (collect(bld, 'tests/hosts/host_tools.c') + collect(bld, 'tests/support/test_support.c') +
             collect(bld, 'tests/support/test_commands.c'))
    for src in collect(bld, 'tests/hosts/test_host_*.c'):
        name = os.path.splitext(src.name)[0]
        bld.program(source=[src] + tools, target='tests/' + name,
                    includes=['tests/support', 'tests/hosts'], defines=defines,
                    use=['CMOCKA', 'SNDFILE', 'JACK', 'M'], install_path=None)


def build_rt_checks(bld, support, defines, uses):
    """Real-time-safety checks of the audio thread's calls (optimised build only): the
    LD_PRELOAD guard that tests/test_engine_rt.c loads itself under, and the same calls under
    RealtimeSanitizer when a clang that has it was found (the test host alone is built with
    clang; the engine library stays the gcc one users get)."""
    bld.shlib(source=['tests/rt_guard/rt_guard.c'], target='tests/rt_guard/dgxm_rt_guard',
              includes=['tests/rt_guard'], install_path=None, lib=['dl'])
    if not bld.env.RTSAN_CC:
        return
    env = bld.env.derive()
    env.CC = env.LINK_CC = bld.env.RTSAN_CC
    env.append_value('CFLAGS', ['-fsanitize=realtime'])
    env.append_value('LINKFLAGS', ['-fsanitize=realtime'])
    bld.program(source=['tests/rtsan/test_engine_rtsan.c'] + support,
                target='tests/test_engine_rtsan', includes=['tests/support'], defines=defines,
                use=['dgxm_core', 'CMOCKA'] + uses, install_path=None, env=env)


# ---- CUDA backend (kernels/cuda/) ---------------------------------------------------------------
# Machine code (SASS) for every GPU generation from Ampere to Blackwell plus PTX of the newest
# family, so one binary runs natively from sm_80 to GB10 (sm_121) and is JIT-compiled by the driver
# on later parts. 'a' targets unlock one exact chip's features, 'f' targets a family's (sm_120f runs
# on CC 12.0 and 12.1). See docs/architecture.md, "CUDA backend".
CUDA_ARCHS_ALL = ['sm_80', 'sm_86', 'sm_89', 'sm_90a', 'sm_100f', 'sm_120f', 'sm_121a',
                  'compute_120']
CUDA_LIBS = ['cudart_static', 'dl', 'rt', 'pthread', 'stdc++']


def cuda_gencode(arch):
    """sm_90a -> machine code for sm_90a; compute_120 -> PTX for compute_120."""
    m = re.fullmatch(r'(sm|compute)_(\d+[af]?)', arch)
    if not m:
        raise ValueError(arch)
    kind, num = m.groups()
    return '-gencode=arch=compute_%s,code=%s_%s' % (num, kind, num)


def cuda_archs_wanted():
    archs = [a.strip() for a in Options.options.cuda_archs.replace(' ', ',').split(',')
             if a.strip()]
    return (archs, '--cuda-archs') if archs else (CUDA_ARCHS_ALL, 'all targets')


def configure_cuda(conf):
    conf.env.HAVE_CUDA = False
    if Options.options.no_cuda:
        conf.msg('CUDA backend', 'no (--no-cuda)', color='YELLOW')
        return
    nvcc = conf.find_program('nvcc', var='NVCC', mandatory=False,
                             path_list=os.environ.get('PATH', '').split(os.pathsep)
                             + ['/usr/local/cuda/bin'])
    if not nvcc:
        conf.msg('CUDA backend', 'no (nvcc not found: CPU engine only)', color='YELLOW')
        return
    root = os.path.dirname(os.path.dirname(os.path.realpath(conf.env.NVCC[0])))
    libdirs = [os.path.join(root, d) for d in ('lib64', 'lib', 'targets/x86_64-linux/lib',
                                               'targets/sbsa-linux/lib',
                                               'targets/aarch64-linux/lib')]
    libdir = next((d for d in libdirs if os.path.exists(os.path.join(d, 'libcudart_static.a'))),
                  None)
    if not libdir:
        conf.fatal('nvcc found at %s but no libcudart_static.a under %s; install the CUDA toolkit '
                   'completely or configure with --no-cuda' % (conf.env.NVCC[0], root))
    archs, source = cuda_archs_wanted()
    try:
        gencode = [cuda_gencode(a) for a in archs]
    except ValueError as e:
        conf.fatal('CUDA target %s is not of the form sm_NN[a|f] or compute_NN[a|f]' % e)

    # Every target must be accepted by this nvcc: compile a tiny kernel for each, name any
    # rejected one.
    probe = conf.bldnode.make_node('cuda_probe.cu')
    probe.write('__global__ void dgxm_probe(float *p) { p[threadIdx.x] *= 2.0f; }\n')
    rejected = []
    for arch, flag in zip(archs, gencode):
        cmd = conf.env.NVCC + ['-c', flag, probe.abspath(), '-o',
                               conf.bldnode.make_node('cuda_probe.o').abspath()]
        if subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT).returncode:
            rejected.append(arch)
    if rejected and source == '--cuda-archs':
        conf.fatal('this nvcc (%s) rejects CUDA target(s) %s; pick others with --cuda-archs'
                   % (conf.env.NVCC[0], ', '.join(rejected)))
    if rejected:  # an older nvcc: build what it knows, say what is missing
        conf.msg('CUDA targets this nvcc lacks', ', '.join(rejected), color='YELLOW')
        gencode = [g for a, g in zip(archs, gencode) if a not in rejected]
        archs = [a for a in archs if a not in rejected]
    if not archs:
        conf.msg('CUDA backend', 'no (nvcc accepts none of the targets)', color='YELLOW')
        return

    conf.env.HAVE_CUDA = True
    conf.env.CUDA_ARCH_LIST = ' '.join(archs)
    conf.env.NVCC_ARCH_FLAGS = gencode
    conf.env.NVCCFLAGS = ['-std=c++17', '-O3', '--Werror', 'all-warnings',
                          '-Xcompiler', '-fPIC,-Wall,-Wextra,-Werror', '-lineinfo']
    conf.env.LIBPATH_CUDART = [libdir]
    conf.env.LIB_CUDART = CUDA_LIBS
    conf.msg('CUDA backend', 'yes: %s (%s)' % (conf.env.CUDA_ARCH_LIST, source), color='GREEN')


class cuda(Task.Task):
    """nvcc -c for one .cu file of the CUDA backend."""
    run_str = ('${NVCC} ${NVCCFLAGS} ${NVCC_ARCH_FLAGS} ${CPPPATH_ST:INCPATHS} '
               '${DEFINES_ST:DEFINES} -c ${SRC} -o ${TGT[0].abspath()}')
    color = 'GREEN'
    ext_in = ['.h']
    vars = ['CCDEPS']
    scan = c_preproc.scan
    shell = False


@extension('.cu')
def cuda_hook(self, node):
    return self.create_compiled_task('cuda', node)


def write_cuda_archs(task):
    task.outputs[0].write('/* Generated by the build: the CUDA targets compiled in, and the '
                          'toolkit\'s library folder\n * (where cuBLASLt is looked for when it is '
                          'not on the library path). */\n'
                          '#define DGXM_CUDA_ARCHS "%s"\n#define DGXM_CUDA_LIBDIR "%s"\n'
                          % (task.env.CUDA_ARCH_LIST, task.env.LIBPATH_CUDART[0]))


def build_cuda(bld, inc):
    """The CUDA backend's objects as dgxm_cuda, which dgxm_core takes in; False without CUDA
    (and for the fuzz variant)."""
    if not bld.env.HAVE_CUDA or bld.variant == 'fuzz':
        return False
    if not bld.env.CUDA_ARCH_LIST:
        Logs.warn('nvcc was found by an older configure: run waf configure to build the CUDA '
                  'backend')
        return False
    bld(rule=write_cuda_archs, target='kernels/cuda/cuda_archs.h',
        vars=['CUDA_ARCH_LIST', 'LIBPATH_CUDART'])
    cuda_inc = inc + ['kernels/cuda']
    bld.objects(source=collect(bld, 'kernels/cuda/*.cu'), target='dgxm_cuda', features='c',
                includes=cuda_inc)
    return True


def build_cuda_tests(bld, support, defines, use):
    """Tests of the CUDA backend: built whenever CUDA is; they skip visibly without a device."""
    checks = collect(bld, 'tests/cuda_checks.c')
    shared = collect(bld, 'tests/cuda_test_support.c')
    for src in collect(bld, 'tests/test_cuda_*.c'):
        name = os.path.splitext(src.name)[0]
        bld.program(source=[src] + support + checks + shared, target='tests/' + name,
                    includes=['tests/support', 'tests'], defines=defines,
                    use=use + ['CMOCKA'], install_path=None)
    # The standalone driver for GPU machines (no cmocka): the same checks as a table + timings.
    bld.program(source=['tests/cuda_device_check.c'] + checks, target='tests/cuda_device_check',
                includes=['tests'], use=use, install_path=None)


def run_tests(bld):
    """Run every tests/test_* program; sum cmocka's per-case counts."""
    test_dir = bld.bldnode.find_node('tests')
    programs = sorted((n for n in (test_dir.ant_glob('test_*') if test_dir else [])
                      if os.access(n.abspath(), os.X_OK) and '.' not in n.name),
                      key=lambda n: n.name)
    passed = failed = skipped = 0
    broken = []
    env = dict(os.environ)
    env['DGXM_BUILD_DIR'] = bld.bldnode.abspath()
    only = os.environ.get('DGXM_TESTS')
    for node in programs:
        if only and not re.search(only, node.name):
            continue
        proc = subprocess.run([node.abspath()], cwd=bld.path.abspath(), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        text = proc.stdout.decode('utf-8', 'replace')
        p = sum(int(x) for x in re.findall(r'\[  PASSED  \] (\d+) test', text))
        f = sum(int(x) for x in re.findall(r'\[  FAILED  \] (\d+) test', text))
        k = sum(int(x) for x in re.findall(r'\[  SKIPPED \] (\d+) test', text))
        if proc.returncode != 0 and f == 0:
            f = 1  # a crash or sanitizer abort counts even when cmocka printed nothing
            broken.append(node.name)
        passed += p
        failed += f
        skipped += k
        status = 'ok' if proc.returncode == 0 else 'FAILED (exit %d)' % proc.returncode
        Logs.pprint('GREEN' if proc.returncode == 0 else 'RED',
                    '%-32s %3d passed %3d failed %3d skipped  %s' % (node.name, p, f, k, status))
        if k:  # say why, so a skip is never silent
            for reason in sorted(set(re.findall(r'^skipping: (.*)$', text, re.M))):
                Logs.pprint('YELLOW', '    skipped: ' + reason)
        if proc.returncode != 0 or os.environ.get('DGXM_TEST_VERBOSE'):
            sys.stdout.write(text)
    label = bld.variant or 'default'
    print('%s: %d passed, %d failed, %d skipped' % (label, passed, failed, skipped))
    if failed:
        bld.fatal('%d test case(s) failed in the %s build %s' % (failed, label, broken))


class TestContext(BuildContext):
    """build and run the test suite"""
    cmd = 'test'

    def execute(self):
        self.add_post_fun(run_tests)
        super().execute()


for variant in ('asan', 'fuzz', 'tsan'):
    for ctx in (BuildContext, CleanContext, InstallContext):
        name = ctx.__name__.replace('Context', '').lower()

        class _VariantCtx(ctx):
            cmd = name + '_' + variant
            variant = variant  # noqa: F821 -- class-body lookup of the loop variable

    class _VariantTest(TestContext):
        cmd = 'test_' + variant
        variant = variant  # noqa: F821
