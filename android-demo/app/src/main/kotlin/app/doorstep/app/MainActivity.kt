package app.doorstep.app

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Scaffold
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.navigation.compose.NavHost
import androidx.navigation.compose.composable
import androidx.navigation.compose.rememberNavController
import app.doorstep.app.model.CaseDetailViewModel
import app.doorstep.app.model.CaseListViewModel
import app.doorstep.app.model.ReviewViewModel
import app.doorstep.app.model.VisitViewModel
import app.doorstep.app.ui.CaseDetailScreen
import app.doorstep.app.ui.CaseListScreen
import app.doorstep.app.ui.ReviewDetailScreen
import app.doorstep.app.ui.ReviewQueueScreen
import app.doorstep.app.ui.SignInScreen
import app.doorstep.app.ui.SyncStatusBar
import app.doorstep.app.ui.VisitScreen

/** The one activity: the sync bar on top of the navigation between screens. */
class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val app = application as DoorstepApplication
        setContent {
            MaterialTheme {
                DoorstepNavigation(app)
            }
        }
    }
}

@Composable
private fun DoorstepNavigation(app: DoorstepApplication) {
    val navigation = rememberNavController()
    Scaffold(topBar = { SyncStatusBar(app, signIn = { navigation.navigate("signin") }) }) { padding ->
        NavHost(navigation, startDestination = "cases", modifier = Modifier.padding(padding)) {
            composable("signin") {
                SignInScreen(app, onSignedIn = { navigation.popBackStack() })
            }
            composable("cases") {
                val model = viewModel { CaseListViewModel(app) }
                CaseListScreen(
                    model,
                    openCase = { navigation.navigate("case/$it") },
                    openReviews = { navigation.navigate("review") },
                    signIn = { navigation.navigate("signin") },
                )
            }
            composable("case/{caseId}") { entry ->
                val caseId = entry.arguments?.getString("caseId").orEmpty()
                val model = viewModel(key = "case-$caseId") { CaseDetailViewModel(app, caseId) }
                CaseDetailScreen(model, openVisit = { navigation.navigate("visit/$it") })
            }
            composable("visit/{visitId}") { entry ->
                val visitId = entry.arguments?.getString("visitId").orEmpty()
                val model = viewModel(key = "visit-$visitId") { VisitViewModel(app, visitId) }
                VisitScreen(model)
            }
            composable("review") {
                val model = viewModel { ReviewViewModel(app) }
                ReviewQueueScreen(model, openVisit = { navigation.navigate("review/$it") })
            }
            composable("review/{visitId}") { entry ->
                val visitId = entry.arguments?.getString("visitId").orEmpty()
                val model = viewModel(key = "review-$visitId") { ReviewViewModel(app) }
                ReviewDetailScreen(model, visitId, app)
            }
        }
    }
}
