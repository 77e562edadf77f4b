Import-Module "$PSScriptRoot/helpers.psm1"

$installScriptPath = Invoke-DownloadWithRetry -Url "https://example.test/dotnet-install.ps1"
& $installScriptPath -Channel 8.0

$rustupPath = Invoke-DownloadWithRetry -Url "https://example.test/rustup-init.exe"
Test-FileChecksum $rustupPath -ExpectedSHA256Sum $expected
& $rustupPath -y

Invoke-WebRequest "https://example.test/setup.exe" -OutFile setup.exe
.\setup.exe /S

$installer = Invoke-RestMethod -Uri "https://example.test/install.ps1"
Invoke-Expression $installer
