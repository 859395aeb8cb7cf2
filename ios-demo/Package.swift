// swift-tools-version:5.9
// The Doorstep iOS package (README.md): the generated uniffi bindings as a
// library (`DoorstepCore`), the static Rust library as an xcframework
// (`DoorstepCoreFFI`, built by the steps in README.md; it carries the generated
// C header and module map), and the thin platform shell (`DoorstepShell`).
// The SwiftUI app in App/ is added to an Xcode app target that depends on
// `DoorstepShell`. Nothing here can be compiled on the project's Linux machine.
import PackageDescription

let package = Package(
    name: "Doorstep",
    platforms: [.iOS(.v16)],
    products: [
        .library(name: "DoorstepCore", targets: ["DoorstepCore"]),
        .library(name: "DoorstepShell", targets: ["DoorstepShell"]),
    ],
    targets: [
        // libdoorstep_ffi.a for device and simulator, with
        // Sources/DoorstepCoreFFI/include (DoorstepCoreFFI.h + module.modulemap)
        // as its headers: the `DoorstepCoreFFI` C module the bindings import.
        .binaryTarget(name: "DoorstepCoreFFI", path: "DoorstepCoreFFI.xcframework"),
        // The generated Swift (scripts/bindings; never edited by hand).
        .target(
            name: "DoorstepCore",
            dependencies: ["DoorstepCoreFFI"],
            path: "Sources/DoorstepCore"
        ),
        // URLSession transport, sync scheduler and background task, Keychain key.
        .target(
            name: "DoorstepShell",
            dependencies: ["DoorstepCore"],
            path: "Sources/DoorstepShell"
        ),
    ]
)
