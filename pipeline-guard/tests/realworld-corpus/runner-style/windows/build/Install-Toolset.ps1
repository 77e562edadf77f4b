Function Install-Asset {
    param([object] $Asset)
    $folder = Join-Path $env:TEMP_DIR $Asset.name
    $archive = Get-WithRetry -Url $Asset.download_url -Path "$env:TEMP_DIR\asset.zip"
    Expand-With7Zip -Path $archive -DestinationPath $folder
    Push-Location -Path $folder
    Invoke-Expression .\setup.ps1
    Pop-Location
}

foreach ($tool in $tools) {
    Install-Asset -Asset $tool
}
