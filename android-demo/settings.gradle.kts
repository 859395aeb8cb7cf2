// The Doorstep Android demo: `shell` (the Kotlin shell logic + the generated
// uniffi bindings, also compiled and tested on the JVM by scripts/kotlin) and
// `app` (the Jetpack Compose screens). Build steps: BUILD.md.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "doorstep-android"
include(":shell", ":app")
