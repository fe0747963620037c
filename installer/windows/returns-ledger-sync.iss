; Inno Setup 6 script for Returns Ledger Sync on Windows.
; NOT BUILT OR TESTED by this project (no Windows machine): a recipe to start from.
; See installer/windows/README.md for the steps (PyInstaller build first, then ISCC, then signing).
;
;   iscc /DAppVersion=0.1.0 installer\windows\returns-ledger-sync.iss
;   With signing:  iscc /DAppVersion=0.1.0 /Ssigntool="signtool.exe sign /fd sha256 /tr http://timestamp.digicert.com /td sha256 /a $f" /DSign installer\windows\returns-ledger-sync.iss

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z (pyproject.toml's [project] version)
#endif
#define AppName "Returns Ledger Sync"
#define BundleDir "..\..\dist\returns-ledger"

[Setup]
; A fixed id: upgrades replace the earlier installation instead of installing beside it.
AppId={{8B6F2C1E-5A3D-4E7B-9C0F-2D4A6B8E1F37}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Returns Ledger Sync
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=returns-ledger-sync-{#AppVersion}-windows-x64-setup
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\ReturnsLedgerSync.exe
#ifdef Sign
SignTool=signtool
SignedUninstaller=yes
#endif

[Files]
; The whole PyInstaller folder build: both executables, _internal\ (Python, Qt, QtWebEngineProcess.exe
; and its resources, the app's resources and migrations).
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\ReturnsLedgerSync.exe"
Name: "{group}\{#AppName} (demo)"; Filename: "{app}\ReturnsLedgerSync.exe"; Parameters: "--demo"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\ReturnsLedgerSync.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Run]
Filename: "{app}\ReturnsLedgerSync.exe"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Only what the installer put in {app}; the user's data (%LOCALAPPDATA%\returns-ledger-sync) is kept.
Type: filesandordirs; Name: "{app}\_internal"
