#!/usr/bin/env python3
# dgx-music build: core engine library, CPU kernels, hosts, tests, fuzz targets.
#
# Variants (one configure sets up all of them):
#   ./waf build          optimised build in build/
#   ./waf build_asan     ASan + UBSan build in build/asan (tests run under it in CI)
#   ./waf build_fuzz     clang libFuzzer targets in build/fuzz (when clang is present)
#   ./waf test           build + run every test program, print "N passed, N failed"
#   ./waf test_asan      the same under the sanitizers
import os
import re
import subprocess
import sys

from waflib import Logs, Options
from waflib.Build import BuildContext, CleanContext, InstallContext

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
]

WARNINGS = ['-Wall', '-Wextra', '-Werror', '-Wshadow', '-Wstrict-prototypes',
            '-Wmissing-prototypes', '-Wvla', '-Wformat=2']
COMMON_CFLAGS = ['-std=c11', '-D_GNU_SOURCE', '-fPIC', '-pthread'] + WARNINGS
SANITIZE = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all',
            '-fno-omit-frame-pointer']


def options(opt):
    opt.load('compiler_c')
    opt.add_option('--no-cuda', action='store_true', default=False,
                   help='build the CPU engine alone, even when nvcc is present')
    opt.add_option('--cuda-archs', default='',
                   help='comma list of CUDA targets to build (default: all, sm_80..sm_121 + PTX)')


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

    conf.env.HAVE_CUDA = False
    if not Options.options.no_cuda:
        nvcc = conf.find_program('nvcc', var='NVCC', mandatory=False,
                                 path_list=os.environ.get('PATH', '').split(os.pathsep)
                                 + ['/usr/local/cuda/bin'])
        conf.env.HAVE_CUDA = bool(nvcc)
    conf.env.CUDA_ARCHS = Options.options.cuda_archs
    conf.msg('CUDA backend', 'yes' if conf.env.HAVE_CUDA else 'no (CPU engine only)',
             color='GREEN' if conf.env.HAVE_CUDA else 'YELLOW')

    base = conf.env
    conf.env.append_value('CFLAGS', ['-O2', '-g'])

    conf.setenv('asan', env=base.derive())
    conf.env.append_value('CFLAGS', ['-O1', '-g'] + SANITIZE)
    conf.env.append_value('LINKFLAGS', SANITIZE)

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

    bld.stlib(source=collect(bld, 'core/*.c') + collect(bld, 'kernels/*.c')
              + collect(bld, 'kernels/cpu/*.c'),
              target='dgxm_core', includes=inc, export_includes=inc, use=uses,
              defines=defines)

    if v == 'fuzz':
        for src in collect(bld, 'tests/fuzz/fuzz_*.c'):
            name = os.path.splitext(src.name)[0]
            bld.program(source=[src], target='tests/fuzz/' + name, use=['dgxm_core'] + uses,
                        linkflags=['-fsanitize=fuzzer'], install_path=None)
        return

    bld.program(source=collect(bld, 'hosts/cli/*.c'), target='hosts/cli/dgxm',
                use=['dgxm_core'] + uses)

    support = collect(bld, 'tests/support/*.c')
    for src in collect(bld, 'tests/test_*.c'):
        name = os.path.splitext(src.name)[0]
        bld.program(source=[src] + support, target='tests/' + name,
                    includes=['tests/support'], defines=defines,
                    use=['dgxm_core', 'CMOCKA'] + uses, install_path=None)


def run_tests(bld):
    """Run every tests/test_* program; sum cmocka's per-case counts."""
    test_dir = bld.bldnode.find_node('tests')
    programs = sorted((n for n in (test_dir.ant_glob('test_*') if test_dir else [])
                      if os.access(n.abspath(), os.X_OK) and '.' not in n.name),
                      key=lambda n: n.name)
    passed = failed = 0
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
        if proc.returncode != 0 and f == 0:
            f = 1  # a crash or sanitizer abort counts even when cmocka printed nothing
            broken.append(node.name)
        passed += p
        failed += f
        status = 'ok' if proc.returncode == 0 else 'FAILED (exit %d)' % proc.returncode
        Logs.pprint('GREEN' if proc.returncode == 0 else 'RED',
                    '%-32s %3d passed %3d failed  %s' % (node.name, p, f, status))
        if proc.returncode != 0 or os.environ.get('DGXM_TEST_VERBOSE'):
            sys.stdout.write(text)
    label = bld.variant or 'default'
    print('%s: %d passed, %d failed' % (label, passed, failed))
    if failed:
        bld.fatal('%d test case(s) failed in the %s build %s' % (failed, label, broken))


class TestContext(BuildContext):
    """build and run the test suite"""
    cmd = 'test'

    def execute(self):
        self.add_post_fun(run_tests)
        super().execute()


for variant in ('asan', 'fuzz'):
    for ctx in (BuildContext, CleanContext, InstallContext):
        name = ctx.__name__.replace('Context', '').lower()

        class _VariantCtx(ctx):
            cmd = name + '_' + variant
            variant = variant  # noqa: F821 -- class-body lookup of the loop variable

    class _VariantTest(TestContext):
        cmd = 'test_' + variant
        variant = variant  # noqa: F821
