$extensions = Get-ToolsetContent | Select-Object -ExpandProperty extensions
$extensions | ForEach-Object {
    Install-ExtensionFromUrl $_.DownloadUri
}
