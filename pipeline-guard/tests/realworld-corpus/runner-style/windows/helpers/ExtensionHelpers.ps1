function Install-ExtensionFromFile {
    Param (
        [Parameter(Mandatory = $true)]
        [string] $FilePath,
        [int] $Retries = 5
    )
    while ($True) {
        $installerPath = "${env:ProgramFiles(x86)}\Tools\ExtensionInstaller.exe"
        $process = Start-Process `
            -FilePath $installerPath `
            -ArgumentList @('/quiet', "`"$FilePath`"") `
            -Wait -PassThru
        if ($process.ExitCode -eq 0) { break }
        $Retries--
        if ($Retries -eq 0) { exit 1 }
    }
}

function Install-ExtensionFromUrl {
    Param ([string] $Url)
    $filePath = Get-WithRetry -Url $Url -Path "$env:TEMP_DIR\ext.vsix"
    Install-ExtensionFromFile -FilePath $filePath
    Remove-Item -Force $filePath
}
