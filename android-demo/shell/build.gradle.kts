// The shell as an Android library: the same sources scripts/kotlin compiles and
// tests on the JVM (src/main/kotlin), the generated uniffi bindings
// (src/generated/kotlin, never edited by hand), JNA as an Android `aar` (it
// carries JNA's own libjnidispatch.so per ABI), and libdoorstep_ffi.so per ABI
// from `cargo ndk` in src/main/jniLibs (see ../BUILD.md). The JUnit 5 tests in
// src/test run on the JVM through scripts/kotlin, not through Gradle.
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "app.doorstep.shell"
    compileSdk = 34

    defaultConfig {
        // java.time (Instant, Clock, Duration) without desugaring.
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }

    sourceSets {
        getByName("main") {
            // src/main/kotlin is a default source folder; add the generated bindings.
            kotlin.srcDir("src/generated/kotlin")
            jniLibs.setSrcDirs(listOf("src/main/jniLibs"))
        }
        getByName("test") {
            // JVM-only JUnit 5 tests, run against the host library by scripts/kotlin.
            kotlin.setSrcDirs(emptyList<String>())
            java.setSrcDirs(emptyList<String>())
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // The generated bindings load libdoorstep_ffi.so through JNA.
    api("net.java.dev.jna:jna:5.14.0@aar")
}
