Describe "Toolcache" {
    It "python runs" {
        "$PythonBinPath -c 'import sys;print(sys.version)'" | Should -ReturnZeroExitCode
    }
    It "node runs" {
        "node -e 'console.log(process.version)'" | Should -ReturnZeroExitCode
    }
    It "version string" {
        "python --version" | Should -ReturnZeroExitCode
        "3.12" | Should -Be "3.12"
    }
}
