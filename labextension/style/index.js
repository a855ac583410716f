import './base.css';
import './dashboards.css';
